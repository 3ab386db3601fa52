"""The report's own words, in Chinese and English (the pack supplies clause and role titles).

The Chinese follows the pack's own script (traditional characters), so a page does not mix
scripts.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LANGUAGES", "Words", "words"]

LANGUAGES = ("zh", "en")

_TEXT: Mapping[str, tuple[str, str]] = {
    # The document.
    "report_title": ("客戶承諾履行情況報告", "Report on how the customer commitment was kept"),
    "header": ("概要", "Summary"),
    "pack": ("規則包", "Rule pack"),
    "version": ("版本", "Version"),
    "profile": ("適用版本(地區)", "Profile"),
    "digest": ("內容雜湊", "Content hash"),
    "period": ("報告期", "Period"),
    "to": ("至", "to"),
    "all_time": ("全部事件", "All events given"),
    "events": ("期內事件數", "Events in the period"),
    "events_given": ("提供的事件數", "Events given"),
    "events_duplicate": ("重複的事件(同一 id,只計一次)", "Repeated event ids (counted once)"),
    "events_invalid": ("無效的事件(未計入)", "Invalid events (not counted)"),
    "judged_through": ("判定截至", "Judged through"),
    "findings_total": ("期內發現總數", "Findings in the period"),
    "pack_mismatch": (
        "注意:部分違規由其他版本的規則包產生",
        "Note: some violations were produced by a different pack",
    ),
    "none": ("無", "None"),
    "footer": (
        "本報告由 commitrules 根據事件與規則引擎的判定結果生成;所有數字均可由輸入重現。",
        "Produced by commitrules from the events and the engine's findings; every number "
        "can be reproduced from the input.",
    ),
    # Clauses.
    "clauses": ("各條款履行情況", "Clauses"),
    "clause": ("條款", "Clause"),
    "title": ("標題", "Title"),
    "status": ("狀態", "Status"),
    "rules": ("規則數", "Rules"),
    "reason": ("說明", "Note"),
    "status_kept": ("已遵守(未發現違規)", "Kept (no breach found)"),
    "status_breached": ("未遵守", "Breached"),
    "status_breached_sub": ("未遵守(見子條款)", "Breached (in sub-clauses)"),
    "status_insufficient_sample": ("未能判定(樣本不足)", "Not judged (too few observations)"),
    "status_not_judged": ("未能判定(期內未有判定)", "Not judged (nothing judged in the period)"),
    "status_not_automatable": ("無法自動檢查", "Not automatable"),
    "status_not_checked": ("本規則包未設規則", "No rule in this pack"),
    "status_unknown_clause": ("不在條款目錄中", "Not in the clause catalogue"),
    "kind_violation": ("違規", "Violations"),
    "kind_escalation": ("升級", "Escalations"),
    "kind_insufficient_sample": ("樣本不足", "Too few observations"),
    "kind_excused": ("已豁免", "Excused"),
    # Cases (a section a pack declares: kind case_handling).
    "cases_received": ("期內開立的個案", "Cases opened in the period"),
    "cases_resolved": ("已完結", "Closed"),
    "cases_open": ("未完結", "Still open"),
    "cases_open_overdue": ("未完結且已逾時限", "Still open and past the limit"),
    "cases_with_limit": ("已完結且有時限", "Closed, with a limit"),
    "cases_within_limit": ("在時限內完結", "Closed within the limit"),
    "cases_share": ("時限內完結比例", "Share closed within the limit"),
    "cases_p50": ("所需天數中位數(P50)", "Days taken, median (p50)"),
    "cases_p90": ("所需天數 P90", "Days taken, p90"),
    "cases_max": ("所需天數最長", "Days taken, longest"),
    "cases_limit": ("時限", "Limit"),
    "extended_to": ("延期後", "extended"),
    "limit_unknown": ("本規則包未設", "not set in this pack"),
    "percentile_note": (
        "百分位數採用最近秩法;天數為開立至完結的實際經過時間。",
        "Percentiles use the nearest-rank method; days are the time elapsed from opening "
        "to closing.",
    ),
    # Rules of each kind.
    "checks": ("逐項檢查", "Checks"),
    "checks_note": (
        "「已判定」為規則適用並作出判定的事件數;未提供判定結果時不顯示。",
        "Judged: the events a rule applied to and decided on (shown when the engine's outcomes "
        "were given).",
    ),
    "judged": ("已判定", "Judged"),
    "held": ("符合", "Held"),
    "deadlines": ("時限", "Deadlines"),
    "deadlines_note": (
        "時限屬於其開始的報告期;「未完結」為期末尚未到期者。",
        "A deadline belongs to the period it was opened in; still open: not yet due when the "
        "report was judged.",
    ),
    "limit": ("時限", "Limit"),
    "opened": ("開始", "Opened"),
    "met": ("按時", "Met"),
    "missed": ("逾時", "Missed"),
    "escalated": ("已升級", "Escalated"),
    "still_open": ("未完結", "Still open"),
    "share_met": ("按時比例", "Share met"),
    "thresholds": ("閾值", "Thresholds"),
    "groups": ("觸發最多的組別", "Groups that crossed it most"),
    "duration_minutes": ("分鐘", "minutes"),
    "duration_hours": ("小時", "hours"),
    "duration_calendar_days": ("日曆日", "calendar days"),
    "duration_working_days": ("工作日", "working days"),
    "duration_weeks": ("週", "weeks"),
    "duration_months": ("個月", "months"),
    "duration_from_field": ("按事件欄位", "from the event's field"),
    "measure": ("指標", "Measure"),
    "value": ("數值", "Value"),
    # Periodic targets.
    "targets": ("量化目標", "Measurable targets"),
    "target": ("目標", "Target"),
    "target_rate": ("比率", "Rate"),
    "numerator": ("分子", "Numerator"),
    "denominator": ("分母", "Denominator"),
    "period_unit": ("週期", "Period"),
    "target_kept": ("達標", "Kept"),
    "target_missed": ("未達標", "Missed"),
    "target_not_judged": ("未能判定", "Not judged"),
    "target_excused": ("已豁免", "Excused"),
    "reason_too_few": ("樣本不足", "too few observations"),
    "reason_no_judgement": ("引擎未有判定記錄", "no judgement recorded"),
    "sample": ("樣本(分母)", "Sample (denominator)"),
    "min_sample": ("最少樣本", "Fewest to judge"),
    "targets_note": (
        "比率為分子除以分母,與目標(承諾本身的目標,非監管限額)比較;分母少於最少樣本的週期未能判定,"
        "不計作達標。提供引擎的判定結果時,達標週期亦顯示其比率;未提供時,已結束而無記錄的週期視為達標,"
        "其比率不詳。",
        "The rate is the numerator over the denominator, against the target (the bank's own "
        "commitment, not a regulatory limit); a period whose denominator is below the fewest "
        "needed is not judged, and never counted as kept. With the engine's outcomes a kept "
        "period shows its rate too; without them a closed period without a finding is taken "
        "as kept and its rate is unknown.",
    ),
    "stats_note": (
        "處理時長為自受理日起至辦結日止的自然日數;未結:期末尚未辦結。",
        "Days taken: calendar days from the day received to the day closed; open: not closed "
        "when the report was judged.",
    ),
    "stats_received": ("受理", "Received"),
    "stats_closed": ("辦結", "Closed"),
    "stats_open": ("未結", "Open"),
    "stats_days": ("日", "days"),
    "stats_to": ("至", " to "),
    "stats_over": ("超過", "over"),
    "no_cases": ("期內沒有個案", "No case in the period"),
    "no_periods": ("期內沒有已結束的週期", "No period closed within the report period"),
    "rate_chart": ("各週期比率與目標", "Rate per period against the target"),
    "unit_day": ("日", "day"),
    "unit_week": ("週", "week"),
    "unit_month": ("月", "month"),
    "unit_quarter": ("季", "quarter"),
    "unit_half_year": ("半年", "half-year"),
    "unit_year": ("年", "year"),
    # Time and roles.
    "over_time": ("違規趨勢", "Violations over time"),
    "bucket": ("期間", "Period"),
    "count": ("數量", "Count"),
    "by_role": ("按負責角色統計的違規", "Violations by responsible role"),
    "role": ("角色", "Role"),
    "total": ("合計", "Total"),
    # Offenders and warnings.
    "offenders": ("重複違規者", "Repeat offenders"),
    "offenders_note": (
        "只計首次違規(不含升級),不含由違規次數觸發的預警本身。",
        "Counts first findings of breach only (no escalations), leaving out the warnings "
        "that count violations themselves.",
    ),
    "branch_id": ("網點", "Branch"),
    "staff_id": ("員工", "Staff"),
    "at": ("時間", "Time"),
    "rule": ("規則", "Rule"),
    "kind": ("類別", "Kind"),
    "severity": ("嚴重程度", "Severity"),
    "message": ("內容", "Message"),
    "subject": ("對象", "Subject"),
    "chart_data": ("圖表數據", "Chart data"),
    "svg_label_rate": ("比率(%)", "Rate (%)"),
}


class Words:
    """The report's words in one language; ``words["clauses"]`` is the text."""

    __slots__ = ("lang",)

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __getitem__(self, key: str) -> str:
        zh, en = _TEXT[key]
        return zh if self.lang == "zh" else en

    def get(self, key: str, default: str) -> str:
        """The words for ``key``, or ``default`` when the report has none (a pack's field)."""
        return self[key] if key in _TEXT else default


def words(lang: str) -> Words:
    """The words of ``lang`` (``zh`` or ``en``); ValueError names the choices."""
    if lang not in LANGUAGES:
        msg = f"unknown report language {lang!r}: use 'zh' or 'en'"
        raise ValueError(msg)
    return Words(lang)
