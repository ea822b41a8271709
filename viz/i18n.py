"""Every word the dashboard shows, in English and Chinese.

The interface reads `t("step", lang)`; a missing key is a bug and raises `KeyError` (a unit test
checks that every key has both languages). Labels that the model already carries in both
languages (rules, levers, sectors, function types, cities, targets) come from the model, not
from here.
"""

from __future__ import annotations

from regionsim.model.sectors import CIRCLE_LABELS, FUNCTION_TYPE_LABELS, ZONE_LABELS

LANGS = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    # key: (English, 中文)
    "app_title": ("regionsim — regional coordination simulator", "regionsim — 区域协同发展模拟"),
    "app_title_short": ("regionsim", "regionsim 区域协同"),
    "year": ("Year", "年份"),
    "horizon": ("horizon", "期末"),
    "step": ("Step", "单步"),
    "play": ("Play", "播放"),
    "pause": ("Pause", "暂停"),
    "reset": ("Reset", "重置"),
    "speed": ("Speed (years per second)", "速度（年/秒）"),
    "language": ("中文", "English"),
    "scenario": ("Scenario or variant", "情景或变体"),
    "seed": ("Random seed", "随机种子"),
    "seed_bad": ("must be a whole number from 0 to 2^32-1", "须为0至2^32-1之间的整数"),
    "levers": ("Levers (apply on Reset)", "政策杠杆（重置后生效）"),
    "levers_pending": ("changed — press Reset to run the new case", "已修改——点击“重置”运行新情景"),
    "levers_clear": ("Back to scenario values", "恢复情景取值"),
    "rule_on": ("Rule switched on", "启用规则"),
    "refused": ("Refused", "已拒绝"),
    "on": ("on", "开"),
    "off": ("off", "关"),
    "city_levers": ("Per-city levers (receiving incentive, capacity)", "分城市杠杆（承接激励、承接能力）"),
    "running_scenario": ("Running: the scenario's own settings", "运行中：情景原设置"),
    "running_yours": ("Running: your settings ({n} changed)", "运行中：您的设置（已改{n}项）"),
    "not_applied": ("{n} change(s) not yet applied — press Reset to run them", "{n}项修改尚未生效——点击“重置”运行"),
    "edit_levers_of": ("Levers of", "编辑杠杆："),
    "case_a": ("A (this run)", "A（当前运行）"),
    "case_b": ("B (comparison)", "B（对比情景）"),
    "compare_b_levers": (
        "B's levers: {n} changed (edit them with “B (comparison)” above the levers)",
        "B的杠杆：已改{n}项（在杠杆上方选择“B（对比情景）”进行编辑）",
    ),
    "load_variant": ("Load a variant file (.toml) into A (this run)", "将变体文件（.toml）载入A（当前运行）"),
    "load_variant_b": ("Load a variant file (.toml) into B (comparison)", "将变体文件（.toml）载入B（对比情景）"),
    "loaded_variant": (
        "Loaded {file}: {base} with {n} lever setting(s); running it now.",
        "已载入{file}：{base}，含{n}项杠杆设置，正在运行。",
    ),
    "loaded_variant_b": (
        "Loaded {file} into B: {base} with {n} lever setting(s). Open Compare and press “Run comparison” "
        "(both cases run with A's seed, {seed}).",
        "已将{file}载入B：{base}，含{n}项杠杆设置。请打开“情景对比”并点击“运行对比”（两个情景均使用A的随机种子{seed}）。",
    ),
    "view_lesson": ("Lesson", "课堂"),
    "lesson_step": ("Step {k} of {n}", "第{k}步（共{n}步）"),
    "lesson_predict": ("Your prediction (before you play)", "您的预测（播放前填写）"),
    "lesson_press": ("What to press", "操作"),
    "lesson_notice": ("What to notice", "观察要点"),
    "lesson_setup": ("Set up this step", "设置本步骤"),
    "lesson_prev": ("◀ Previous", "◀ 上一步"),
    "lesson_next": ("Next ▶", "下一步 ▶"),
    "lesson_locked": ("Predictions are entered before play: press Reset to predict again.", "预测须在播放前填写：点击“重置”后可重新预测。"),
    "lesson_none": ("No prediction recorded.", "尚未记录预测。"),
    "lesson_predicted": ("You predicted", "您的预测"),
    "lesson_happened": ("What happened", "实际结果"),
    "lesson_match": ("as predicted", "与预测一致"),
    "lesson_mismatch": ("not as predicted — why?", "与预测不同——为什么？"),
    "lesson_wait": ("Press Step or Play to see what happens.", "点击“单步”或“播放”查看结果。"),
    "choice_up": ("goes up", "增加/上升"),
    "choice_down": ("goes down", "减少/下降"),
    "choice_same": ("stays about the same", "基本不变"),
    "presenter_hint": ("Presenter mode: the map fills the screen.", "演示模式：地图铺满屏幕。"),
    "not_a_number": ("not a number", "不是数字"),
    "clause": ("Plan clause", "规划条文"),
    "finished": ("horizon reached — press Reset to start again", "已到期末——点击“重置”重新开始"),
    # views
    "view_map": ("Map & why", "地图与原因"),
    "view_charts": ("Charts", "图表"),
    "view_scorecard": ("Plan scorecard", "规划目标"),
    "view_compare": ("Compare", "情景对比"),
    "view_export": ("Export", "导出"),
    # map
    "colour_by": ("Colour shows", "颜色表示"),
    "map_title": ("Cities in {year}: size = population, colour = {indicator}", "{year}年城市：大小=人口，颜色={indicator}"),
    "arrows_legend": ("Arrows: functions relocated this year; width = function units", "箭头：本年疏解的功能，粗细=功能单位数"),
    "arrows_legend_cum": (
        "Arrows: functions relocated since the base year; width = function units",
        "箭头：基年以来累计疏解的功能，粗细=功能单位数",
    ),
    "units_word": (" units", "个单位"),
    "zoom": ("Zoom to", "缩放至"),
    "zoom_all": ("whole region", "全区域"),
    "zoom_capital": ("around {city}", "{city}周边"),
    "arrows": ("Arrows", "箭头"),
    "arrows_year": ("this year's relocations", "本年疏解"),
    "arrows_cumulative": ("cumulative since base year", "基年以来累计"),
    "arrows_none": ("none", "不显示"),
    "scale": ("Colour scale", "色标"),
    "scale_run": ("fixed over the whole run", "全程固定"),
    "scale_year": ("fit to this year", "按本年拟合"),
    "presenter": ("Presenter mode", "演示模式"),
    "presenter_exit": ("Leave presenter mode", "退出演示模式"),
    "fullscreen": ("Full screen", "全屏"),
    "pan_reset": ("Reset view", "复位视图"),
    "size_legend": ("population", "人口"),
    "click_city": (
        "Click a city on the map (or pick it below) to see why things happened there.",
        "点击地图上的城市（或在下方选择），查看其变化的原因。",
    ),
    "pick_city": ("City", "城市"),
    "no_moves": ("no relocations this year", "本年无功能疏解"),
    # indicators
    "ind_pm25": ("PM2.5 (µg/m³)", "PM2.5（微克/立方米）"),
    "ind_gdp_per_capita": ("GDP per capita (yuan)", "人均GDP（元）"),
    "ind_population_change": ("population change since base year (%)", "人口较基年变化（%）"),
    "ind_net_migration": ("net migration this year (persons)", "本年净迁入（人）"),
    "ind_service_level": ("public-service level (index)", "公共服务水平（指数）"),
    "ind_transfers_net": ("net money received this year (100m yuan)", "本年净收入转移（亿元）"),
    # city panel
    "city_state": ("Now", "当前状态"),
    "population": ("Population", "常住人口"),
    "gdp": ("GDP (100m yuan)", "地区生产总值（亿元）"),
    "gdp_per_capita": ("GDP per capita (yuan)", "人均GDP（元）"),
    "pm25": ("PM2.5 (µg/m³)", "PM2.5（微克/立方米）"),
    "jobs": ("Jobs", "就业岗位"),
    "service_level": ("Public-service level", "公共服务水平"),
    "fiscal_revenue": ("Fiscal revenue (100m yuan)", "财政收入（亿元）"),
    "transfers_net": ("Net transfers this year (100m yuan)", "本年净转移（亿元）"),
    "function_units": ("Relocatable function units hosted", "承载可迁移功能单位数"),
    "net_migration": ("Net migration this year", "本年净迁入"),
    "province": ("Province", "省级单位"),
    "zone": ("Main functional zone", "主体功能区"),
    "circle": ("Circle", "圈层"),
    "roles": ("Positioned to receive", "承接定位"),
    "negative_list": ("Must shed (negative list)", "负面清单（须疏解）"),
    "history": ("History", "历史"),
    "events": ("What happened and why", "发生了什么，为什么"),
    "payments": ("Money in and out, and why", "资金往来及原因"),
    "no_events": ("No events for this city yet — step the model.", "该城市尚无事件——请推进模拟。"),
    "more_events": ("{n} older events not shown", "另有{n}条较早事件未显示"),
    "money_this_year": ("Payments this year, and why", "本年支付及原因"),
    "none": ("none", "无"),
    # charts
    "chart_population": ("Population: source and receiving cities (million)", "人口：疏解地与承接地（百万）"),
    "chart_gdp": ("GDP (trillion yuan)", "地区生产总值（万亿元）"),
    "chart_gdp_pc": ("GDP per capita (10,000 yuan)", "人均GDP（万元）"),
    "chart_theil": ("Regional disparity: Theil index of GDP per capita", "区域差距：人均GDP泰尔指数"),
    "chart_pm25": ("Population-weighted PM2.5 (µg/m³)", "人口加权PM2.5（微克/立方米）"),
    "chart_moved": ("Function units relocated, cumulative, by type", "累计疏解功能单位（按类型）"),
    "chart_money": ("Money moved by mechanism (100m yuan per year)", "各机制资金转移（亿元/年）"),
    "series_source": ("source cities", "疏解地"),
    "series_receivers": ("receiving cities", "承接地"),
    "series_region": ("region", "全区域"),
    "money_TAX_SHARE": ("tax sharing", "税收分享"),
    "money_ECO_COMP": ("ecological compensation", "生态补偿"),
    "money_JOINT_CONTROL": ("joint-control payments", "联防联控支付"),
    "money_ENERGY": ("energy trade", "能源交易"),
    "money_FUND": ("cooperation fund", "合作基金"),
    # scorecard
    "target": ("Target", "目标"),
    "value": ("Value", "当前值"),
    "goal": ("Goal", "目标值"),
    "status": ("Status", "状态"),
    "margin": ("Margin", "余量"),
    "deadline": ("Deadline", "期限"),
    "met": ("met", "达成"),
    "missed": ("missed", "未达成"),
    "every_year": ("every year", "每年"),
    "not_binding_yet": ("(not binding yet)", "（尚未到期）"),
    "no_targets": ("This scenario sets no plan targets.", "该情景未设定规划目标。"),
    "scorecard_year": ("Plan scorecard, every year to {year}", "规划目标完成情况（截至{year}年）"),
    "scorecard_help": (
        "Green: met; red: missed; pale: the target is not binding yet. Hover a cell for the margin.",
        "绿色：达成；红色：未达成；浅色：尚未到期。鼠标悬停查看余量。",
    ),
    "scorecard_ab": ("Plan targets in {year}: A and B side by side", "{year}年规划目标：A与B对照"),
    "unit": ("Unit", "单位"),
    # compare
    "compare_a": ("Case A: the current settings", "情景A：当前设置"),
    "compare_b": ("Case B", "情景B"),
    "compare_run": ("Run comparison", "运行对比"),
    "compare_hint": ("Runs both cases to the horizon with the same seed.", "以相同随机种子将两个情景运行至期末。"),
    "compare_mode": ("Show", "显示方式"),
    "mode_overlay": ("side by side (A solid, B dashed)", "并列（A实线，B虚线）"),
    "mode_diff": ("difference B − A", "差值 B − A"),
    "compare_year": ("Map year", "地图年份"),
    "compare_map_title": ("{indicator}: B − A in {year}", "{year}年{indicator}：B − A"),
    "compare_none": ("Pick case B and press “Run comparison”.", "选择情景B并点击“运行对比”。"),
    "compare_moves_b": ("arrows: B's relocations in that year", "箭头：B在该年的功能疏解"),
    # export
    "export_run": ("Download this run's files (.zip)", "下载本次运行文件（.zip）"),
    "export_run_help": (
        "The same six files `regionsim run` writes: model.parquet, agents.parquet, events.parquet, "
        "scorecard.csv, scenario.toml, run.json — up to the current year.",
        "与 `regionsim run` 输出相同的六个文件：model.parquet、agents.parquet、events.parquet、"
        "scorecard.csv、scenario.toml、run.json（截至当前年份）。",
    ),
    "export_variant": ("Save lever settings as a variant file (.toml)", "将杠杆设置保存为变体文件（.toml）"),
    "export_variant_help": ("Run it with: regionsim run {file} --out results/", "运行方式：regionsim run {file} --out results/"),
    "variant_name": ("Variant name", "变体名称"),
    "preparing": ("preparing…", "准备中…"),
    "error": ("Error", "错误"),
}


_REASONS_ZH = (
    (r"must be from (\S+) to ([^\s,]+)", r"须在\1至\2之间"),
    (r"must be a whole number from (\S+) to ([^\s,]+)", r"须为\1至\2之间的整数"),
    (r"must be a whole number", "须为整数"),
    (r"must be a finite number", "须为有限数值"),
    (r"must be a number", "须为数字"),
    (r"must be true or false", "须为“开”或“关”"),
    (r"of at least (\S+?)(?=,|$)", r"且不小于\1"),
    (r"of at most (\S+?)(?=,|$)", r"且不大于\1"),
    (r"from (\S+) to ([^\s,]+)", r"，取值\1至\2"),
    (r"\s*\(any\)", ""),
    (r", not empty", "，不能为空"),
    (r", not '?([^']*)'?$", r"，而不是“\1”"),
)


def reason(text: str, lang: str) -> str:
    """A refusal reason (a lever check or the scenario loader) in `lang`. In Chinese the known
    patterns are translated; anything else becomes a general Chinese sentence (the English detail
    is not shown, so no English leaks into the Chinese page)."""
    import re

    if lang != "zh":
        return text
    out = text
    for pattern, replacement in _REASONS_ZH:
        out = re.sub(pattern, replacement, out)
    if re.search(r"[A-Za-z]{3,}", re.sub(r"“[^”]*”", "", out)):
        return "该取值使情景无法运行（超出允许范围或与其他设置冲突）"
    return out.replace(" ", "")


def t(key: str, lang: str, **values: object) -> str:
    """The text for `key` in `lang` ("en" or "zh"), with `{placeholders}` filled from `values`."""
    english, chinese = TEXT[key]
    text = chinese if lang == "zh" else english
    return text.format(**values) if values else text


def pick(pair_en_zh: tuple[str, str], lang: str) -> str:
    """Choose from an (English, Chinese) pair."""
    return pair_en_zh[1] if lang == "zh" and pair_en_zh[1] else pair_en_zh[0]


RULE_NAMES: dict[str, tuple[str, str]] = {
    # rule id (as in the event log and the rule catalogue): (English, 中文) — short, for event lists
    "POLICY": ("Provincial policy", "省级政策"),
    "ZONING": ("Functional zones", "主体功能区"),
    "RELOCATE": ("Relocation", "功能疏解"),
    "TRANSFER": ("Industrial transfer", "产业转移"),
    "GROWTH": ("Growth", "经济增长"),
    "SERVICES": ("Public services", "公共服务"),
    "MIGRATE": ("Migration", "人口迁移"),
    "JOINT_CONTROL": ("Joint air control", "联防联控"),
    "AIR": ("Air quality", "大气环境"),
    "ENERGY": ("Energy", "能源调配"),
    "TAX_SHARE": ("Tax sharing", "税收分享"),
    "ECO_COMP": ("Eco-compensation", "生态补偿"),
    "FUND": ("Cooperation fund", "合作基金"),
}
"""Short display names of the rules. A rule missing here falls back to its catalogue title
(`RuleSpec.title_en` / `title_zh`); a unit test checks that every catalogued rule is listed."""


def rule_name(rule_id: str, lang: str) -> str:
    """A rule id (RELOCATE, TAX_SHARE, …) as the reader sees it: a short name in `lang`, never the raw id."""
    rule_id = str(rule_id)
    if rule_id in RULE_NAMES:
        return pick(RULE_NAMES[rule_id], lang)
    from regionsim.model.rules import BY_ID

    spec = BY_ID.get(rule_id)
    if spec is not None:
        return pick((spec.title_en, spec.title_zh), lang)
    return rule_id.replace("_", " ").capitalize() if lang != "zh" else "规则"


def function_type_label(name: str, lang: str) -> str:
    """A function type's display name (model/sectors.py holds (Chinese, English))."""
    zh, en = FUNCTION_TYPE_LABELS.get(name, (name, name))
    return zh if lang == "zh" else en


def zone_label(name: str, lang: str) -> str:
    """A main-functional-zone type's display name."""
    zh, en = ZONE_LABELS.get(name, (name, name))
    return zh if lang == "zh" else en


def circle_label(name: str, lang: str) -> str:
    """A circle's display name."""
    zh, en = CIRCLE_LABELS.get(name, (name, name))
    return zh if lang == "zh" else en


def short_name(name: str) -> str:
    """A city name without its parenthesised detail, for map labels."""
    for cut in (" (", "（"):
        if cut in name:
            name = name.split(cut)[0]
    return name.strip()
