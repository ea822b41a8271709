"""The fixed vocabularies of the model: sectors, pollutants, function types, zone and circle types.

Picture a city's economy as fifteen drawers of output (亿元 of value added). Relocatable
functions (a university, a wholesale market, a steel plant…) sit in one drawer each: when a
function moves, its drawer's contents move with it from one city to another.

The lists follow the sectors and functions the plans name — capital_metro_area L145「高校、醫療機構、
中央企業、事業單位、金融機構、科研院所」, L231「深入實施先進製造業集群發展專項行動」, L243「發揮現代物流對經濟産業的
支撐作用」, L683「北京區域性批發市場、物流中心等疏解」; bohai_rim_outline L275–277「先进制造研发…基地」,
L281「现代商贸物流重要基地」 — and the main-functional-zone types of green_development L13「加快建设主体功能区」,
L15「优化开发区域」「重点开发区域」「重点生态功能区」.
"""

from __future__ import annotations

SECTORS: tuple[str, ...] = (
    "agriculture",
    "energy",
    "heavy_industry",
    "general_manufacturing",
    "advanced_manufacturing",
    "construction",
    "wholesale_logistics",
    "education",
    "health",
    "administration_hq",
    "finance_business",
    "research",
    "tourism_culture",
    "data_centres",
    "other_services",
)
"""Sector ids, in array order (columns of every city × sector array)."""

SECONDARY: tuple[str, ...] = (
    "energy",
    "heavy_industry",
    "general_manufacturing",
    "advanced_manufacturing",
    "construction",
)
"""Sectors that make up the statistical 'secondary industry' (第二产业)."""

TERTIARY: tuple[str, ...] = (
    "wholesale_logistics",
    "education",
    "health",
    "administration_hq",
    "finance_business",
    "research",
    "tourism_culture",
    "data_centres",
    "other_services",
)
"""Sectors that make up the statistical 'tertiary industry' (第三产业)."""

SECTOR_INDEX: dict[str, int] = {name: i for i, name in enumerate(SECTORS)}

SECTOR_LABELS: dict[str, tuple[str, str]] = {
    "agriculture": ("农业", "Agriculture"),
    "energy": ("能源（煤炭、电力）", "Energy (coal, power)"),
    "heavy_industry": ("重化工业（钢铁、焦化、水泥、石化）", "Heavy industry (steel, coking, cement, petrochemicals)"),
    "general_manufacturing": ("一般制造业", "General manufacturing"),
    "advanced_manufacturing": ("先进制造业", "Advanced manufacturing"),
    "construction": ("建筑业", "Construction"),
    "wholesale_logistics": ("批发与物流", "Wholesale & logistics"),
    "education": ("教育", "Education"),
    "health": ("医疗卫生", "Health"),
    "administration_hq": ("行政与总部", "Administration & headquarters"),
    "finance_business": ("金融与商务服务", "Finance & business services"),
    "research": ("科研", "Research & development"),
    "tourism_culture": ("文化旅游", "Tourism & culture"),
    "data_centres": ("数据中心", "Data centres"),
    "other_services": ("其他服务业", "Other services"),
}
"""(Chinese, English) display label for each sector."""

POLLUTANTS: tuple[str, ...] = ("so2", "nox", "pm25", "co2")
"""Emitted pollutants, in array order: SO2, NOx, primary PM2.5 (t/yr) and CO2 (t/yr)."""

POLLUTANT_INDEX: dict[str, int] = {name: i for i, name in enumerate(POLLUTANTS)}

FUNCTION_TYPES: dict[str, str] = {
    "general_manufacturing_plant": "general_manufacturing",
    "heavy_industry_plant": "heavy_industry",
    "wholesale_market": "wholesale_logistics",
    "university": "education",
    "hospital": "health",
    "administrative_unit": "administration_hq",
    "research_institute": "research",
    "financial_institution": "finance_business",
    "data_centre": "data_centres",
}
"""Relocatable function type → the sector whose output it carries."""

FUNCTION_TYPE_NAMES: tuple[str, ...] = tuple(FUNCTION_TYPES)
FUNCTION_TYPE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FUNCTION_TYPE_NAMES)}

FUNCTION_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "general_manufacturing_plant": ("一般制造业企业", "general manufacturing plant"),
    "heavy_industry_plant": ("重化工企业", "heavy-industry plant"),
    "wholesale_market": ("区域性批发市场/物流中心", "wholesale market / logistics centre"),
    "university": ("高校", "university"),
    "hospital": ("医院", "hospital"),
    "administrative_unit": ("行政事业单位/央企总部", "administrative unit / SOE headquarters"),
    "research_institute": ("科研院所", "research institute"),
    "financial_institution": ("金融机构", "financial institution"),
    "data_centre": ("数据中心", "data centre"),
}
"""(Chinese, English) display label for each function type."""

ZONES: tuple[str, ...] = ("optimised", "key", "restricted", "prohibited")
"""Main functional zone types 优化/重点/限制/禁止开发 (green_development L15「优化开发区域」…「重点开发区域」…「重点生态功能区」)."""

ZONE_LABELS: dict[str, tuple[str, str]] = {
    "optimised": ("优化开发区", "optimised development zone"),
    "key": ("重点开发区", "key development zone"),
    "restricted": ("限制开发区（重点生态功能区）", "restricted development zone (key ecological area)"),
    "prohibited": ("禁止开发区", "prohibited development zone"),
}

CIRCLES: tuple[str, ...] = ("core", "commuting", "functional", "industrial", "outside")
"""Circle membership, inner to outer (capital_metro_area L191「梯次佈局北京平原新城、北京生態涵養區、通勤圈、功能圈及産業協同圈」)."""

CIRCLE_LABELS: dict[str, tuple[str, str]] = {
    "core": ("核心", "core"),
    "commuting": ("通勤圈", "commuting circle"),
    "functional": ("功能圈", "functional circle"),
    "industrial": ("产业协同圈", "industrial coordination circle"),
    "outside": ("圈外", "outside the circles"),
}
