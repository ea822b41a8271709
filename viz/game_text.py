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
    "round": ("Round", "第几轮"),
    "year": ("Year", "年份"),
    "indicators": ("Your province now (start in brackets)", "本省现状（括号内为起始值）"),
    "population": ("Population (万 people)", "人口（万人）"),
    "gdp": ("GDP (亿元)", "地区生产总值（亿元）"),
    "pm25": ("PM2.5 (µg/m³, fine dust in the air)", "PM2.5（微克/立方米，空气中的细颗粒物）"),
    "net": ("Money received net since the start (亿元; negative: paid)", "开局以来净收入（亿元；负数为净支出）"),
    "score": ("Score (100 at the start: GDP per head, clean air, budget)", "得分（开局为100：人均GDP、空气、财政）"),
    "decisions": ("Your decisions for the next round", "你下一轮的决定"),
    "submit": ("Submit", "提交"),
    "submitted": (
        "Submitted for round {n}. You may change and submit again until the round closes.",
        "第{n}轮已提交。本轮结束前可以修改后重新提交。",
    ),
    "waiting": ("Not yet submitted for round {n}.", "第{n}轮尚未提交。"),
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
    "offer_to": ("Pay province", "付款给"),
    "offer_amount": ("亿元 a year (at most {limit:,.1f})", "每年亿元（最多{limit:,.1f}）"),
    "offer_rounds": ("for rounds (1–{n})", "持续轮数（1–{n}）"),
    "offer_send": ("Propose", "提出"),
    "offer_line": (
        "No. {id}: {payer} pays {payee} {amount:,.1f} 亿元 a year for {rounds} round(s) — {status}",
        "第{id}号：{payer}每年向{payee}支付{amount:,.1f}亿元，共{rounds}轮——{status}",
    ),
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
