"""The report's own words, in English and in Chinese of both scripts.

The pack supplies clause, rule and role titles (converted to the script asked for: see
:mod:`._language`); these are the report's own: written in Traditional characters by hand,
in Simplified characters derived from them once with OpenCC (``t2s``) and then reviewed
(mainland terms such as 文件, 字节 and 字段, and “” quotation marks), and in English. Chinese
strings use full-width punctuation (，：；（）); a test keeps it so.
"""

# Full-width punctuation (，：；（）) is what Chinese is written with here, not a look-alike.
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

from collections.abc import Mapping

from ._language import LANGUAGES, Script

__all__ = ["FONTS", "LANGUAGES", "Words", "words"]

#: The fonts of each language, most wanted first: Latin fonts first for English; for
#: Chinese, the fonts of its script first (a Simplified page in a Traditional font draws
#: some characters in the other script's forms).
FONTS: Mapping[str, str] = {
    "en": (
        '"Helvetica Neue", Arial, "Liberation Sans", "Noto Sans", "DejaVu Sans", '
        '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'
    ),
    "zh-Hans": (
        '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", '
        '"WenQuanYi Micro Hei", "Helvetica Neue", Arial, "Noto Sans", sans-serif'
    ),
    "zh-Hant": (
        '"PingFang TC", "PingFang HK", "Microsoft JhengHei", "Noto Sans CJK TC", '
        '"Noto Sans CJK HK", "Source Han Sans TC", "WenQuanYi Micro Hei", "Helvetica Neue", '
        'Arial, "Noto Sans", '
        "sans-serif"
    ),
}

# key: (Traditional, Simplified, English)
_TEXT: Mapping[str, tuple[str, str, str]] = {
    "report_title": (
        "客戶承諾履行情況報告",
        "客户承诺履行情况报告",
        "Report on how the customer commitment was kept",
    ),
    "header": (
        "概要",
        "概要",
        "Summary",
    ),
    "pack": (
        "規則包",
        "规则包",
        "Rule pack",
    ),
    "version": (
        "版本",
        "版本",
        "Version",
    ),
    "profile": (
        "適用版本（地區）",
        "适用版本（地区）",
        "Profile",
    ),
    "digest": (
        "規則包摘要（SHA-256）",
        "规则包摘要（SHA-256）",
        "Pack digest (SHA-256)",
    ),
    "period": (
        "報告期",
        "报告期",
        "Period",
    ),
    "to": (
        "至",
        "至",
        "to",
    ),
    "all_time": (
        "全部事件",
        "全部事件",
        "All events given",
    ),
    "events": (
        "期內事件數",
        "期内事件数",
        "Events in the period",
    ),
    "events_given": (
        "提供的事件數",
        "提供的事件数",
        "Events given",
    ),
    "events_duplicate": (
        "重複的事件（同一 id，只計一次）",
        "重复的事件（同一 id，只计一次）",
        "Repeated event ids (counted once)",
    ),
    "events_invalid": (
        "無效的事件（未計入）",
        "无效的事件（未计入）",
        "Invalid events (not counted)",
    ),
    "judged_through": (
        "判定截至",
        "判定截至",
        "Judged through",
    ),
    "findings_total": (
        "期內發現總數",
        "期内发现总数",
        "Findings in the period",
    ),
    "findings_provisional": (
        "其中暫定的發現",
        "其中暂定的发现",
        "Of which provisional",
    ),
    "inputs": (
        "輸入檔案",
        "输入文件",
        "Input files",
    ),
    "input_file": (
        "檔案",
        "文件",
        "File",
    ),
    "input_bytes": (
        "位元組",
        "字节",
        "Bytes",
    ),
    "input_sha256": (
        "SHA-256",
        "SHA-256",
        "SHA-256",
    ),
    "standard_input": (
        "標準輸入（無檔案）",
        "标准输入（无文件）",
        "standard input (no file)",
    ),
    "no_inputs": (
        "未提供（由程式直接傳入事件）",
        "未提供（由程序直接传入事件）",
        "Not given (events passed in by a program)",
    ),
    "time_zone": (
        "時區",
        "时区",
        "Time zone",
    ),
    "page_number": (
        "第 {page} 頁，共 {pages} 頁",
        "第 {page} 页，共 {pages} 页",
        "Page {page} of {pages}",
    ),
    "converted": (
        "規則包的中文以簡體字寫成，本報告以 OpenCC 轉換為繁體字",
        "规则包的中文以繁体字写成，本报告以 OpenCC 转换为简体字",
        "The pack's Chinese is written in the other script; the report converts it with OpenCC",
    ),
    "pack_mismatch": (
        "注意：部分違規由其他版本的規則包產生",
        "注意：部分违规由其他版本的规则包产生",
        "Note: some violations were produced by a different pack",
    ),
    "none": (
        "無",
        "无",
        "None",
    ),
    "footer": (
        "本報告由 commitrules 根據事件與規則引擎的判定結果生成；概要列出的輸入檔案與規則包摘"
        "要足以重現所有數字。",
        "本报告由 commitrules 根据事件与规则引擎的判定结果生成；概要列出的输入文件与规则包摘"
        "要足以重现所有数字。",
        "Produced by commitrules from the events and the engine's findings; every number can "
        "be reproduced from the input files and the pack identified in the summary.",
    ),
    "clauses": (
        "各條款履行情況",
        "各条款履行情况",
        "Clauses",
    ),
    "clause": (
        "條款",
        "条款",
        "Clause",
    ),
    "title": (
        "標題",
        "标题",
        "Title",
    ),
    "status": (
        "狀態",
        "状态",
        "Status",
    ),
    "rules": (
        "規則數",
        "规则数",
        "Rules",
    ),
    "reason": (
        "說明",
        "说明",
        "Note",
    ),
    "status_kept": (
        "已遵守（未發現違規）",
        "已遵守（未发现违规）",
        "Kept (no breach found)",
    ),
    "status_breached": (
        "未遵守",
        "未遵守",
        "Breached",
    ),
    "status_breached_sub": (
        "未遵守（見子條款）",
        "未遵守（见子条款）",
        "Breached (in sub-clauses)",
    ),
    "status_insufficient_sample": (
        "未能判定（樣本不足）",
        "未能判定（样本不足）",
        "Not judged (too few observations)",
    ),
    "status_not_judged": (
        "未能判定（期內未有判定）",
        "未能判定（期内未有判定）",
        "Not judged (nothing judged in the period)",
    ),
    "status_not_automatable": (
        "無法自動檢查",
        "无法自动检查",
        "Not automatable",
    ),
    "status_not_checked": (
        "本規則包未設規則",
        "本规则包未设规则",
        "No rule in this pack",
    ),
    "status_unknown_clause": (
        "不在條款目錄中",
        "不在条款目录中",
        "Not in the clause catalogue",
    ),
    "kind_violation": (
        "違規數",
        "违规数",
        "Violations",
    ),
    "kind_escalation": (
        "升級數",
        "升级数",
        "Escalations",
    ),
    "kind_insufficient_sample": (
        "樣本不足數",
        "样本不足数",
        "Too few observations",
    ),
    "kind_excused": (
        "豁免數",
        "豁免数",
        "Excused",
    ),
    "kind_correction": (
        "更正數",
        "更正数",
        "Corrections",
    ),
    "kind_operational": (
        "運作發現數",
        "运作发现数",
        "Operational findings",
    ),
    "finding_violation": (
        "違規",
        "违规",
        "Violation",
    ),
    "finding_escalation": (
        "升級",
        "升级",
        "Escalation",
    ),
    "finding_insufficient_sample": (
        "樣本不足",
        "样本不足",
        "Too few observations",
    ),
    "finding_excused": (
        "已豁免",
        "已豁免",
        "Excused",
    ),
    "finding_correction": (
        "更正",
        "更正",
        "Correction",
    ),
    "finding_operational": (
        "運作發現",
        "运作发现",
        "Operational",
    ),
    "provisional": (
        "暫定",
        "暂定",
        "provisional",
    ),
    "provisional_note": (
        "「暫定」的發現依賴尚未正式公佈的工作日曆年度，該年度公佈後可能更正。",
        "“暂定”的发现依赖尚未正式公布的工作日历年度，该年度公布后可能更正。",
        "A provisional finding counts working days through a calendar year that is not "
        "official yet: it may be corrected when that year is.",
    ),
    "severity_low": (
        "低",
        "低",
        "Low",
    ),
    "severity_medium": (
        "中",
        "中",
        "Medium",
    ),
    "severity_high": (
        "高",
        "高",
        "High",
    ),
    "severity_critical": (
        "嚴重",
        "严重",
        "Critical",
    ),
    "cases_received": (
        "期內開立的個案",
        "期内开立的个案",
        "Cases opened in the period",
    ),
    "cases_resolved": (
        "已完結",
        "已完结",
        "Closed",
    ),
    "cases_open": (
        "未完結",
        "未完结",
        "Still open",
    ),
    "cases_open_overdue": (
        "未完結且已逾時限",
        "未完结且已逾时限",
        "Still open and past the limit",
    ),
    "cases_with_limit": (
        "已完結且有時限",
        "已完结且有时限",
        "Closed, with a limit",
    ),
    "cases_within_limit": (
        "在時限內完結",
        "在时限内完结",
        "Closed within the limit",
    ),
    "cases_share": (
        "時限內完結比例",
        "时限内完结比例",
        "Share closed within the limit",
    ),
    "cases_p50": (
        "所需天數中位數（P50）",
        "所需天数中位数（P50）",
        "Days taken, median (p50)",
    ),
    "cases_p90": (
        "所需天數 P90",
        "所需天数 P90",
        "Days taken, p90",
    ),
    "cases_max": (
        "所需天數最長",
        "所需天数最长",
        "Days taken, longest",
    ),
    "cases_limit": (
        "時限",
        "时限",
        "Limit",
    ),
    "extended_to": (
        "延期後",
        "延期后",
        "extended",
    ),
    "limit_unknown": (
        "本規則包未設",
        "本规则包未设",
        "not set in this pack",
    ),
    "percentile_note": (
        "百分位數採用最近秩法；天數為開立至完結的實際經過時間。",
        "百分位数采用最近秩法；天数为开立至完结的实际经过时间。",
        "Percentiles use the nearest-rank method; days are the time elapsed from opening to "
        "closing.",
    ),
    "checks": (
        "逐項檢查",
        "逐项检查",
        "Checks",
    ),
    "checks_note": (
        "「已判定」為規則適用並作出判定的事件數；未提供判定結果時不顯示。",
        "“已判定”为规则适用并作出判定的事件数；未提供判定结果时不显示。",
        "Judged: the events a rule applied to and decided on (shown when the engine's "
        "outcomes were given).",
    ),
    "judged": (
        "已判定",
        "已判定",
        "Judged",
    ),
    "held": (
        "符合",
        "符合",
        "Held",
    ),
    "deadlines": (
        "時限",
        "时限",
        "Deadlines",
    ),
    "deadlines_note": (
        "時限屬於其開始的報告期；「未完結」為期末尚未到期者。",
        "时限属于其开始的报告期；“未完结”为期末尚未到期者。",
        "A deadline belongs to the period it was opened in; still open: not yet due when the "
        "report was judged.",
    ),
    "limit": (
        "時限",
        "时限",
        "Limit",
    ),
    "opened": (
        "開始",
        "开始",
        "Opened",
    ),
    "met": (
        "按時",
        "按时",
        "Met",
    ),
    "missed": (
        "逾時",
        "逾时",
        "Missed",
    ),
    "escalated": (
        "已升級",
        "已升级",
        "Escalated",
    ),
    "still_open": (
        "未完結",
        "未完结",
        "Still open",
    ),
    "share_met": (
        "按時比例",
        "按时比例",
        "Share met",
    ),
    "thresholds": (
        "閾值",
        "阈值",
        "Thresholds",
    ),
    "groups": (
        "觸發最多的組別",
        "触发最多的组别",
        "Groups that crossed it most",
    ),
    "duration_minutes": (
        "分鐘",
        "分钟",
        "minutes",
    ),
    "duration_hours": (
        "小時",
        "小时",
        "hours",
    ),
    "duration_calendar_days": (
        "日曆日",
        "日历日",
        "calendar days",
    ),
    "duration_working_days": (
        "工作日",
        "工作日",
        "working days",
    ),
    "duration_weeks": (
        "週",
        "周",
        "weeks",
    ),
    "duration_months": (
        "個月",
        "个月",
        "months",
    ),
    "duration_from_field": (
        "按事件欄位",
        "按事件字段",
        "from the event's field",
    ),
    "measure": (
        "指標",
        "指标",
        "Measure",
    ),
    "value": (
        "數值",
        "数值",
        "Value",
    ),
    "targets": (
        "量化目標",
        "量化目标",
        "Measurable targets",
    ),
    "target": (
        "目標",
        "目标",
        "Target",
    ),
    "target_rate": (
        "達成比率",
        "达成比率",
        "Achieved rate",
    ),
    "numerator": (
        "分子",
        "分子",
        "Numerator",
    ),
    "denominator": (
        "分母",
        "分母",
        "Denominator",
    ),
    "period_unit": (
        "週期",
        "周期",
        "Period",
    ),
    "sample": (
        "樣本（分母）",
        "样本（分母）",
        "Sample (denominator)",
    ),
    "min_sample": (
        "最少樣本",
        "最少样本",
        "Fewest to judge",
    ),
    "target_kept": (
        "達標",
        "达标",
        "Kept",
    ),
    "target_missed": (
        "未達標",
        "未达标",
        "Missed",
    ),
    "target_not_judged": (
        "未能判定",
        "未能判定",
        "Not judged",
    ),
    "reason_too_few": (
        "樣本不足",
        "样本不足",
        "too few observations",
    ),
    "reason_no_events": (
        "沒有可計入的事件",
        "没有可计入的事件",
        "no events counted",
    ),
    "reason_no_judgement": (
        "引擎未有判定記錄",
        "引擎未有判定记录",
        "no judgement recorded",
    ),
    "target_excused": (
        "已豁免",
        "已豁免",
        "Excused",
    ),
    "chart_too_few": (
        "樣本不足",
        "样本不足",
        "too few to judge",
    ),
    "chart_no_events": (
        "無事件",
        "无事件",
        "no events",
    ),
    "chart_no_judgement": (
        "未判定",
        "未判定",
        "not judged",
    ),
    "chart_rate_unknown": (
        "達標，比率不詳",
        "达标，比率不详",
        "kept, rate unknown",
    ),
    "targets_note": (
        "達成比率為分子除以分母，取自引擎對每個已結束週期的判定；目標為承諾本身的目標，非監管限"
        "額。分母少於最少樣本的週期未能判定，不計作達標，亦不顯示比率；沒有可計入事件的週期同樣"
        "未能判定。提供引擎的判定結果時，達標週期亦顯示其比率；未提供時，已結束而無記錄的週期視"
        "為達標，其比率不詳。圖中未能判定的週期以灰色標示，比率不詳的達標週期以文字標示，均不畫"
        "在任何比率上。",
        "达成比率为分子除以分母，取自引擎对每个已结束周期的判定；目标为承诺本身的目标，非监管限"
        "额。分母少于最少样本的周期未能判定，不计作达标，亦不显示比率；没有可计入事件的周期同样"
        "未能判定。提供引擎的判定结果时，达标周期亦显示其比率；未提供时，已结束而无记录的周期视"
        "为达标，其比率不详。图中未能判定的周期以灰色标示，比率不详的达标周期以文字标示，均不画"
        "在任何比率上。",
        "The achieved rate is the numerator over the denominator, as the engine judged each "
        "closed period, against the target (the commitment's own, not a regulatory limit). A "
        "period whose denominator is below the fewest needed is not judged, never counted as "
        "kept, and shows no rate; so is a period with no events counted. With the engine's "
        "outcomes a kept period shows its rate too; without them a closed period without a "
        "finding is taken as kept and its rate is unknown. In the chart a period not judged "
        "is shaded grey and a kept period whose rate is unknown is labelled: neither is drawn "
        "at a rate.",
    ),
    "stats_note": (
        "處理時長為自受理日起至辦結日止的自然日數；未結：期末尚未辦結。",
        "处理时长为自受理日起至办结日止的自然日数；未结：期末尚未办结。",
        "Days taken: calendar days from the day received to the day closed; open: not closed "
        "when the report was judged.",
    ),
    "stats_received": (
        "受理",
        "受理",
        "Received",
    ),
    "stats_closed": (
        "辦結",
        "办结",
        "Closed",
    ),
    "stats_open": (
        "未結",
        "未结",
        "Open",
    ),
    "stats_category": (
        "類別",
        "类别",
        "Category",
    ),
    "stats_channel": (
        "渠道",
        "渠道",
        "Channel",
    ),
    "stats_days": (
        "日",
        "日",
        "days",
    ),
    "stats_to": (
        "至",
        "至",
        " to ",
    ),
    "stats_over": (
        "超過",
        "超过",
        "over",
    ),
    "no_cases": (
        "期內沒有個案",
        "期内没有个案",
        "No case in the period",
    ),
    "no_periods": (
        "期內沒有已結束的週期",
        "期内没有已结束的周期",
        "No period closed within the report period",
    ),
    "rate_chart": (
        "各週期達成比率與目標",
        "各周期达成比率与目标",
        "Achieved rate per period against the target",
    ),
    "unit_day": (
        "日",
        "日",
        "day",
    ),
    "unit_week": (
        "週",
        "周",
        "week",
    ),
    "unit_month": (
        "月",
        "月",
        "month",
    ),
    "unit_quarter": (
        "季",
        "季",
        "quarter",
    ),
    "unit_half_year": (
        "半年",
        "半年",
        "half-year",
    ),
    "unit_year": (
        "年",
        "年",
        "year",
    ),
    "over_time": (
        "違規趨勢",
        "违规趋势",
        "Violations over time",
    ),
    "bucket": (
        "期間",
        "期间",
        "Period",
    ),
    "count": (
        "數量",
        "数量",
        "Count",
    ),
    "by_role": (
        "按負責角色統計的違規",
        "按负责角色统计的违规",
        "Violations by responsible role",
    ),
    "role": (
        "角色",
        "角色",
        "Role",
    ),
    "total": (
        "合計",
        "合计",
        "Total",
    ),
    "offenders": (
        "重複違規者（兩次或以上）",
        "重复违规者（两次或以上）",
        "Repeat offenders (two violations or more)",
    ),
    "offenders_note": (
        "只列出期內有兩次或以上違規者；只計首次違規（不含升級），不含由違規次數觸發的預警本身。",
        "只列出期内有两次或以上违规者；只计首次违规（不含升级），不含由违规次数触发的预警本身。",
        "Lists those with two violations or more in the period; counts first findings of "
        "breach only (no escalations), leaving out the warnings that count violations "
        "themselves.",
    ),
    "branch_id": (
        "網點",
        "网点",
        "Branch",
    ),
    "staff_id": (
        "員工",
        "员工",
        "Staff",
    ),
    "at": (
        "時間",
        "时间",
        "Time",
    ),
    "rule": (
        "規則",
        "规则",
        "Rule",
    ),
    "kind": (
        "類別",
        "类别",
        "Kind",
    ),
    "severity": (
        "嚴重程度",
        "严重程度",
        "Severity",
    ),
    "message": (
        "內容",
        "内容",
        "Message",
    ),
    "subject": (
        "對象",
        "对象",
        "Subject",
    ),
    "chart_data": (
        "圖表數據",
        "图表数据",
        "Chart data",
    ),
    "svg_label_rate": (
        "達成比率（%）",
        "达成比率（%）",
        "Achieved rate (%)",
    ),
    "operational": (
        "引擎自身的發現",
        "引擎自身的发现",
        "The engine's own findings",
    ),
    "operational_note": (
        "規則執行失敗、工作日曆即將用盡等運作問題，以及對先前發現的更正；不計入任何條款。",
        "规则执行失败、工作日历即将用尽等运作问题，以及对先前发现的更正；不计入任何条款。",
        "Operational problems (a rule that failed at run time, a working-day calendar running "
        "out) and corrections of earlier findings; counted against no clause.",
    ),
    "refers_to": (
        "所指發現",
        "所指发现",
        "Refers to",
    ),
}

_COLUMN = {"zh-Hant": 0, "zh-Hans": 1, "en": 2}


class Words:
    """The report's words in one language; ``words["clauses"]`` is the text.

    >>> say = words("zh-Hans")
    >>> say["severity_critical"], say.paren("Asia/Shanghai")
    ('严重', '（Asia/Shanghai）')
    """

    __slots__ = ("_column", "lang")

    def __init__(self, lang: Script) -> None:
        self.lang: Script = lang
        self._column = _COLUMN[lang]

    @property
    def chinese(self) -> bool:
        """Whether these are Chinese words (full-width punctuation, no spaces between)."""
        return self.lang != "en"

    def __getitem__(self, key: str) -> str:
        return _TEXT[key][self._column]

    def get(self, key: str, default: str) -> str:
        """The words for ``key``, or ``default`` when the report has none (a pack's field)."""
        return self[key] if key in _TEXT else default

    def paren(self, text: str) -> str:
        """``text`` in brackets after a label: ' (x)' in English, '（x）' in Chinese."""
        return f"（{text}）" if self.chinese else f" ({text})"

    def colon(self, label: str, text: str) -> str:
        """'label: text' in English, 'label：text' in Chinese."""
        return f"{label}：{text}" if self.chinese else f"{label}: {text}"

    def join(self, items: list[str]) -> str:
        """Items of a list: ', ' in English, '、' in Chinese."""
        return ("、" if self.chinese else ", ").join(items)

    def separate(self, items: list[str]) -> str:
        """Groups of a list: '; ' in English, '；' in Chinese."""
        return ("；" if self.chinese else "; ").join(items)

    def font(self) -> str:
        """The CSS font list of this language."""
        return FONTS[self.lang]


def words(lang: str) -> Words:
    """The words of a script (``en``, ``zh-Hans``, ``zh-Hant``); ValueError names the choices.

    ``zh`` needs a pack to choose its script (:func:`commitrules.report.build_report` does).
    """
    if lang not in _COLUMN:
        msg = f"unknown report language {lang!r}: use {', '.join(repr(x) for x in LANGUAGES)}"
        raise ValueError(msg)
    return Words("en" if lang == "en" else "zh-Hans" if lang == "zh-Hans" else "zh-Hant")
