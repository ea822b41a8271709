"""Words of the classroom game's screens, in English and 中文 (the decisions' own labels and
explanations are in `regionsim.model.game.CHOICES`)."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Classroom game", "课堂博弈"),
    "join_title": ("Join the game", "加入博弈"),
    "code": ("Join code", "加入码"),
    "name": ("Your name", "你的名字"),
    "role_any": ("any role (the teacher's choice)", "任意角色（由系统分配）"),
    "role": ("Role", "角色"),
    "join": ("Join", "加入"),
    "you_play": ("You play", "你扮演"),
    "round_line": ("Round {n} · Year {y}", "第{n}轮 · {y}年"),
    "game_over": ("Game over after round {n} · {y}", "博弈已结束：共{n}轮 · {y}年"),
    "game_over_none": ("Game over before the first round · {y}", "博弈已在第一轮之前结束 · {y}年"),
    "indicators": ("Your province now (start in brackets)", "本省现状（括号内为起始值）"),
    "indicators_cities": ("Your cities now (start in brackets)", "你的城市现状（括号内为起始值）"),
    "population": ("Population (万 people)", "人口（万人）"),
    "gdp": ("GDP (亿元)", "地区生产总值（亿元）"),
    "pm25": ("PM2.5 (µg/m³, fine dust in the air)", "PM2.5（微克/立方米，空气中的细颗粒物）"),
    "net": ("Money received net since the start (亿元; negative: paid)", "开局以来净收入（亿元；负数为净支出）"),
    "score": ("Score (GDP per head, clean air, budget)", "得分（人均GDP、空气、财政）"),
    "score_words": (
        "Your score = {g:g} × GDP per head ÷ GDP per head at the start + {a:g} × PM2.5 at the start ÷ PM2.5 now "
        "+ {b:g} × (1 + money received net since the start ÷ tax revenue at the start): {total:g} at the start. "
        "The lesson sets these weights.",
        "你的得分 = {g:g} ×（人均GDP ÷ 开局人均GDP）+ {a:g} ×（开局PM2.5 ÷ 当前PM2.5）"
        "+ {b:g} ×（1 + 开局以来净收入 ÷ 开局税收）；开局为{total:g}分。权重由本课设定。",
    ),
    "lead_other": (
        "{province}'s province-wide decisions (joint air control, abatement effort, cooperation fund, paying ecological "
        "compensation, payments for another province's abatement) are made by {lead}. You decide the receiving incentives "
        "of your own cities, and may agree tax splits and ecological compensation with any role.",
        "{province}的全省性决定（大气污染联防联控、减排力度、合作基金、支付生态补偿、为其他省减排出资）由{lead}作出。"
        "你决定本地城市的承接激励，并可与任何角色商定税收分成和生态补偿。",
    ),
    "lead_self": (
        "You also make {province}'s province-wide decisions (joint air control, abatement effort, cooperation fund, paying "
        "ecological compensation, payments for another province's abatement), for {others} too.",
        "你同时代表{province}作出全省性决定（大气污染联防联控、减排力度、合作基金、支付生态补偿、为其他省减排出资），也适用于{others}。",
    ),
    "decisions": ("Your decisions for the next round", "你下一轮的决定"),
    "submit": ("Submit", "提交"),
    "submitted": (
        "Submitted for round {n}. You may change and submit again until the round closes.",
        "第{n}轮已提交。本轮结束前可以修改后重新提交。",
    ),
    "waiting": ("Not yet submitted for round {n}.", "第{n}轮尚未提交。"),
    "last_by": (
        "{name} submitted for {role} at round {n}; submitting again replaces it. The form shows {role}'s decisions now.",
        "{name}已代表{role}提交第{n}轮的决定；再次提交将替换它。下面的表单显示{role}当前的决定。",
    ),
    "not_a_number": ("“{label}”: “{text}” is not a number.", "“{label}”：“{text}”不是数字。"),
    "out_of_range": ("“{label}” must be from {low:g} to {high:g}, not {value:g}.", "“{label}”须在{low:g}到{high:g}之间，而不是{value:g}。"),
    "fix_first": ("Not submitted: {why}", "未提交：{why}"),
    "remove": ("Remove", "移除"),
    "ended": ("The game has ended. Look at the teacher's screen for the debrief.", "博弈已结束。请看老师屏幕上的复盘。"),
    "refused": ("Refused: {why}", "被拒绝：{why}"),
    "unknown_session": ("This link is not a session of this game. Join again.", "此链接不属于本局博弈，请重新加入。"),
    "teacher_only": (
        "A game is already running on this server. Only its teacher, with the link `regionsim game` printed, can open this screen.",
        "本服务器上已有一局博弈在进行。只有持有 `regionsim game` 打印的链接的老师才能打开此页面。",
    ),
    "students_open": ("Students open", "学生打开"),
    "and_type_code": ("and type the code", "并输入加入码"),
    "who": ("Roles, players and submissions", "角色、玩家与提交情况"),
    "players": ("Players", "玩家"),
    "done": ("submitted", "已提交"),
    "not_done": ("waiting", "等待中"),
    "time_left": ("Time left in this round", "本轮剩余时间"),
    "step": ("Step now", "立即推进"),
    "end": ("End game", "结束博弈"),
    "debrief": ("Debrief", "复盘"),
    "export": ("Export", "导出"),
    "exported": ("Exported to {path}", "已导出到 {path}"),
    "map_title": ("PM2.5 and relocations since the start", "PM2.5与开局以来的迁移"),
    "class": ("the class", "全班"),
    "no_coordination": ("each for itself (no coordination)", "各自为政（无协同）"),
    "plan_as_written": ("full coordination (plan as written)", "全面协同（按规划执行）"),
    "region": ("Region", "全区域"),
    "money_moved": ("Money moved (亿元, cumulative)", "资金流动（亿元，累计）"),
    "net_or_moved": (
        "Money received net since the start (亿元); region: money moved (亿元, cumulative)",
        "开局以来净收入（亿元）；全区域：累计资金流动（亿元）",
    ),
    "chart_score": ("Score", "得分"),
    "chart_pm25": ("PM2.5 (µg/m³)", "PM2.5（微克/立方米）"),
    "chart_gdp": ("GDP (亿元)", "地区生产总值（亿元）"),
    "chart_net": ("Money received net, cumulative (亿元)", "累计净收入（亿元）"),
    "chart_moved": ("Money moved, cumulative (亿元)", "累计资金流动（亿元）"),
    "debrief_charts": (
        "Over the years: the class (blue), each for itself (red, dashed) and full coordination (green)",
        "逐年对比：全班（蓝线）、各自为政（红色虚线）与全面协同（绿线）",
    ),
    "path": ("Path", "路径"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "language": ("中文", "English"),
    "offers": ("Offers between provinces", "省际补偿提议"),
    "offers_explain": (
        "You may offer to pay another province for cleaning its air: every year of the offer the money leaves your "
        "budget and arrives in theirs, and their cities spend it on removing smoke (1 亿元 removes about {t:,.0f} t). "
        "Cleaner air upwind is cleaner air for you too. They accept or decline; an accepted offer pays from this "
        "round on. As Tianjin paid Cangzhou and Tangshan 4 亿元 in 2015 to clean their air.",
        "你可以提议出钱请另一个省治理大气污染：提议有效的每一年，这笔钱从你的财政转入对方的财政，对方城市用它削减排放"
        "（1亿元约削减{t:,.0f}吨）。上风向的空气变好，你的空气也会变好。对方可以接受或拒绝；接受后从本轮起付款。"
        "正如2015年天津投入4亿元支持沧州、唐山治理大气污染。",
    ),
    "offer_to": ("To", "对方"),
    "offer_kind": ("Kind of offer", "提议类型"),
    "kind_abatement": ("Pay for their abatement", "出钱请对方减排"),
    "kind_tax_split": ("Tax split on firms that moved", "迁移企业税收分成"),
    "kind_eco_comp": ("Ecological compensation for their water sources", "向对方水源地支付生态补偿"),
    "tax_split_explain": (
        "When firms move from one role's cities to another's, the host hands part of their taxes back to the origin "
        "until three years' worth of their old taxes are paid (half, in the plan's rule). You may agree another share "
        "with a role for a number of rounds: a higher share pays the origin more, sooner; a lower one lets the host keep more.",
        "企业从一个角色的城市迁往另一个角色的城市后，迁入地把部分税收返还迁出地，直到累计达到迁移前三年的税额"
        "（规划办法为五五分成）。你可以与某个角色商定另一个分成比例，持续若干轮：比例越高，迁出地拿得越多、越快；"
        "越低，迁入地留得越多。",
    ),
    "eco_comp_explain": (
        "You may pay a role that guards water sources (areas that keep polluting industry out to protect the water "
        "others drink) an amount a year: it goes from your cities to their water-source cities, on top of any "
        "compensation already paid.",
        "你可以每年向守护水源地的角色（为保护别人饮用的水而不发展污染产业的地区）支付一笔钱：从你的城市付给对方的水源地城市，"
        "在已有的生态补偿之外另行支付。",
    ),
    "offer_split": ("Origin's share of the taxes (0–1)", "迁出地分得的税收比例（0–1）"),
    "offer_origin": ("Firms move from", "企业迁出方"),
    "no_target": ("No role can take this kind of offer from you.", "没有角色可以接受你的这类提议。"),
    "no_target_lead": (
        "{lead} makes payments for another province's abatement for {province}.",
        "为其他省减排出资由{lead}代表{province}进行。",
    ),
    "offer_amount": ("亿元 a year (at most {limit:,.1f})", "每年亿元（最多{limit:,.1f}）"),
    "offer_rounds": ("for rounds (1–{n})", "持续轮数（1–{n}）"),
    "offer_send": ("Propose", "提出"),
    "offer_line": ("No. {id}: {what} — {status}", "第{id}号：{what}——{status}"),
    "offer_paying": ("paying in rounds {a}–{b}", "第{a}–{b}轮付款"),
    "offer_open": ("waiting for an answer", "等待答复"),
    "offer_accepted": ("accepted", "已接受"),
    "offer_declined": ("declined", "已拒绝"),
    "offer_withdrawn": ("withdrawn", "已撤回"),
    "accept": ("Accept", "接受"),
    "decline": ("Decline", "拒绝"),
    "withdraw": ("Withdraw", "撤回"),
    "no_offers": ("No offers yet.", "暂无提议。"),
    "start_game": ("Start a classroom game", "开始课堂博弈"),
    "open_teacher": ("Open the teacher's screen of the game", "打开博弈的教师屏幕"),
    "reassign": ("Move a player to another role", "调整玩家角色"),
    "player": ("Player", "玩家"),
}


def tr(key: str, lang: str, **values: object) -> str:
    """The text of `key` in `lang` ("en" or "zh"), with `{name}` fields filled."""
    en, zh = TEXT[key]
    return (zh if lang == "zh" else en).format(**values)


REFUSALS_ZH: dict[str, str] = {
    "table": "决定的格式不对",
    "unknown_decision": "这里没有“{key}”这项决定",
    "bool": "“{choice_zh}”只能选是或否",
    "share": "“{choice_zh}”须是0到{high:g}之间的比例",
    "not_your_city": "“{city}”不是你的城市（你的城市：{cities_zh}）",
    "incentive": "{city_zh}的激励须是0到{high:g}之间的数",
    "code": "加入码不对",
    "no_role": "没有“{role}”这个角色",
    "no_player": "没有这个玩家或角色",
    "teacher": "只有老师可以这样做",
    "session": "未知会话：请先加入博弈",
    "forged": "你扮演的是{mine_zh}，不能代表其他角色",
    "ended": "博弈已结束",
    "closed": "第{n}轮已结束；现在是第{now}轮",
    "province_decision": "“{choice_zh}”是全省性决定，由{lead_zh}作出",
    "kind": "没有这种提议类型",
    "lead_pays": "为减排出资是省与省之间的事：由{lead_zh}代表本省进行",
    "target": "这类提议只能向以下角色提出：{targets_zh}",
    "split": "迁出地分得的税收比例须是0到1之间的数",
    "origin": "企业须从{a_zh}或{b_zh}迁出",
    "amount": "每年金额须大于0且不超过{limit:,.1f}亿元",
    "other_role": "提议只能向其他角色提出",
    "rounds": "持续轮数须是1到{n}之间的整数",
    "action": "提议只能接受、拒绝或撤回",
    "no_offer": "没有第{id}号提议",
    "not_party": "只有{party_zh}可以对第{id}号提议这样做",
    "not_open": "第{id}号提议已{status_zh}，不再等待答复",
}
"""The game's refusals (`regionsim.model.game.Refused`, by key) in 中文."""


def refusal(exc: Exception, lang: str) -> str:
    """A refusal in `lang`: the game's plain English message, or its 中文 text by its key."""
    from regionsim.model.game import CHOICES

    key = getattr(exc, "key", "")
    if lang != "zh" or key not in REFUSALS_ZH:
        return tr("refused", lang, why=str(exc))
    values = dict(getattr(exc, "values", {}))
    if "choice" in values:
        values["choice_zh"] = CHOICES[values["choice"]].label_zh
    if "status" in values:
        values["status_zh"] = TEXT[f"offer_{values['status']}"][1]
    return tr("refused", lang, why=REFUSALS_ZH[key].format(**values))
