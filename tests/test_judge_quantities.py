"""The quantity reader: both sides read as intervals, aligned into conflicts and absences."""

from __future__ import annotations

import pytest

from evalkit.judge.core import number_flags
from evalkit.judge.quantities import compare, en_quantities, parse_zh, zh_quantities
from evalkit.records import ReferenceRecord


@pytest.mark.parametrize("numeral,value", [
    ("三万万", 300_000_000),  # 万万 = 10⁸: "three hundred million"
    ("两万", 20_000),
    ("十四万", 140_000),
    ("一亿二千万", 120_000_000),
    ("1.5万", 15_000),
    ("二千五百", 2_500),
    ("一九五八", 1958),  # digits read positionally
    ("一千零十四", 1014),  # 零 marks the empty hundreds; 十 is 一十
    ("四·六亿", 460_000_000),  # exactly: the decimal is scaled in decimal arithmetic
])
def test_a_chinese_numeral_has_its_value(numeral, value):
    assert parse_zh(numeral) == value


@pytest.mark.parametrize("zh,low,high,approx", [
    ("几百名学生", 200, 900, True),
    ("数十个", 20, 90, True),
    ("十几个", 11, 19, True),
    ("三十多人", 30, 39, True),
    ("三千余", 3000, 3999, True),
    ("十余万人", 100_000, 199_999, True),
    ("二十万余人", 200_000, 299_999, True),
    ("三四十人", 30, 40, True),
    ("二三百斤", 200, 300, True),
    ("十七八岁", 17, 18, True),
    ("点种二百七、八十亩", 270, 280, True),  # neighbouring digits with an enumeration comma: one range
    ("到会的有七、八十人", 70, 80, True),
    ("一千二三百人", 1200, 1300, True),
    ("一、二十年来的经验", 20, 20, False),  # 一、 numbers a list item
    ("近二千五百人", 2500, 2500, True),
    ("共六个办公室", 6, 6, False),
    ("卅一日电", 31, 31, False),
])
def test_chinese_quantities_are_intervals(zh, low, high, approx):
    (q,) = zh_quantities(zh)
    assert (q.low, q.high, q.approx) == (low, high, approx)


@pytest.mark.parametrize("zh,kind,value", [
    ("百分之三十", "percent", 30),
    ("三分之一", "fraction", 1 / 3),
    ("第三次", "ordinal", 3),
    ("五国", "count", 5),
])
def test_percentages_fractions_and_ordinals_keep_their_kind(zh, kind, value):
    (q,) = zh_quantities(zh)
    assert q.kind == kind and q.low == pytest.approx(value)


@pytest.mark.parametrize("zh", ["十分重要", "毛主席万岁", "千方百计", "一个问题", "星期一", "百货公司", "万里长城",
                                "四·一二反革命政变", "八·一建军节", "纪念四·一二"])  # events named by their dates
def test_numerals_that_are_not_quantities_are_skipped(zh):
    assert zh_quantities(zh) == []


@pytest.mark.parametrize("en,low,high", [
    ("several hundred students", 200, 900),
    ("hundreds of workers", 200, 999),
    ("tens of thousands of people", 20_000, 99_900),
    ("Two million", 2_000_000, 2_000_000),
    ("a dozen", 12, 12),
    ("twenty-nine", 29, 29),
    ("1.5 million tons", 1_500_000, 1_500_000),
])
def test_english_quantities_are_intervals(en, low, high):
    q = en_quantities(en)[0]
    assert (q.low, q.high) == (low, high)


@pytest.mark.parametrize("zh,en", [
    ("三万万元", "300 million yuan"),  # the false alarm: 万万 was not read
    ("几百名学生", "several hundred students"),
    ("共六个办公室", "the vice-chancellor's office and five other offices"),  # a total stated as one + five others
    ("近二千五百人", "nearly 2,500 people"),
    ("三十多人", "over 30 people"),
    ("十余万人", "more than 100,000 people"),
    ("三四十人", "thirty or forty people"),
    ("二三百斤", "200 to 300 jin"),
    ("三分之一的土地", "one-third of the land"),
    ("百分之三十", "30 percent"),
    ("二十几年", "twenty years"),  # an approximate count rendered loosely is not a conflict
    ("于八月五日", "on August 5"),
    ("【新华社延安卅一日电】", "Xinhua News Agency, Yan'an, 31st"),
])
def test_faithful_quantities_are_consistent(zh, en):
    assert compare(zh, en) == []


@pytest.mark.parametrize("zh,en,evidence", [
    ("冲绳两万爱国者同军警搏斗", "Two million patriots in Okinawa clash with police",
     "两万 (20,000) ↔ 'Two million' (2,000,000)"),
    ("五国代表", "delegates of seven countries", "五国 (5) ↔ 'seven countries' (7)"),
    ("我收到了你8月1日的信", "your letter of August 11", "8月1日 (August 1) ↔ 'August 11'"),
    ("三十多人参加", "over 40 people took part", "三十多人 (30–39) ↔ '40 people' (40)"),
])
def test_a_quantity_with_another_value_is_a_conflict_naming_both_sides(zh, en, evidence):
    (finding,) = compare(zh, en)
    assert finding.kind == "conflict" and finding.evidence() == evidence


def test_a_quantity_the_english_does_not_state_is_an_absence():
    (finding,) = compare("会议开了三天", "The meeting was held.")
    assert finding.kind == "absence" and finding.evidence() == "三天 (3) → not in the English"


def _ref(zh, en):
    return ReferenceRecord(id="d#0001", doc_id="d", index=1, zh=zh, en=en, bead="1-1", align_cost=0.1)


def test_a_conflict_is_a_strong_flag_and_an_absence_a_weak_one():
    (conflict,) = number_flags(_ref("冲绳两万爱国者", "Two million patriots in Okinawa"))
    (absence,) = number_flags(_ref("会议开了三天", "The meeting was held."))
    assert (conflict.name, conflict.strength) == ("number_mismatch", 1.0)
    assert absence.name == "number_missing" and absence.strength < 0.5


@pytest.mark.parametrize("en,conflict", [
    ("Xinhua News Agency, March 27th, Bangkok dispatch: the federation was founded.", True),
    ("Xinhua News Agency, February 27th, Bangkok dispatch: the federation was founded.", False),
    ("Xinhua News Agency, 27th, Bangkok dispatch: the federation was founded.", False),
])
def test_a_datelines_month_is_implied_by_the_papers_date(en, conflict):
    # 据新华社27日讯 in the paper of 1957-03-01 is February 27: "March 27" is a changed date.
    ref = ReferenceRecord(id="d#0001", doc_id="d", index=1, zh="据新华社27日讯　曼谷消息：泰国劳工联合会成立。", en=en,
                          bead="1-1", align_cost=0.1, meta={"date": "1957-03-01"})
    flags = [f for f in number_flags(ref) if f.name == "number_mismatch"]
    assert bool(flags) is conflict
    if conflict:
        assert flags[0].evidence == "据新华社27日讯 (February 27, in the paper of 1957-03-01) ↔ 'March 27th'"


@pytest.mark.parametrize("zh,en,evidence", [
    ("一九五八年八月五日于莫斯科", "Moscow, August 5, 1968", "一九五八年八月五日 (1958) ↔ '1968' (1968)"),
    ("会议有三十个国家参加", "Forty countries took part", "三十 (30) ↔ 'Forty countries' (40)"),
])
def test_one_quantity_left_on_each_side_is_a_changed_quantity(zh, en, evidence):
    (finding,) = compare(zh, en)
    assert finding.kind == "conflict" and finding.evidence() == evidence


def test_a_lone_thousand_before_a_unit_of_measure_is_a_count():
    # 1947-06-03 p2: 千亩 is "a thousand mu"; unread, it left that English free to oppose the 二十余亩
    # the English leaves out, a false conflict. 千 in 千里 or 百 in 百货 is still no count.
    findings = compare("全县即将有千亩旱地变为水田。河东修好一道渠能浇地二十余亩。",
                       "Soon a thousand mu of dry land in the county will become paddy fields.")
    assert [(f.kind, f.chinese.text) for f in findings] == [("absence", "二十余亩")]


def test_a_quantity_converted_into_another_unit_is_not_a_changed_one():
    # 80 li is 40 km: a translator's conversion, not the leftover pair 80 ↔ 40.
    assert [f.kind for f in compare("部队一天走了八十里路。", "The troops walked 40 kilometres in a day.")] == ["absence"]


def test_a_leftover_english_number_beside_a_second_one_is_not_paired():
    # Two English numbers left over: which one (if any) renders the Chinese count is unknowable.
    (finding,) = compare("会议开了三天", "The 200 delegates met for 10 hours.")
    assert finding.kind == "absence"


def test_the_englishs_own_dateline_is_the_one_compared_not_a_later_date():
    # 1954-12-01: 【新华社二十九日讯】 is November 29; the English dateline says December 29 and the
    # body, correctly, November 29 (the opening day): the dateline is still wrong.
    ref = ReferenceRecord(id="d#0001", doc_id="d", index=1, zh="【新华社二十九日讯】图片展览会于十一月二十九日在北京开幕。",
                          en="Xinhua News Agency, December 29th: The exhibition opened in Beijing on November 29th.",
                          bead="1-1", align_cost=0.1, meta={"date": "1954-12-01"})
    (flag,) = [f for f in number_flags(ref) if f.name == "number_mismatch"]
    assert "'December 29th'" in flag.evidence and "November 29" in flag.evidence


@pytest.mark.parametrize("zh,en,evidence", [
    ("共重四百八十余斤。", "It weighed more than 480 kilograms.", "四百八十余斤 (480–489) ↔ '480 kilograms' (480)"),
    ("有六亩菜园子。", "They have six acres of vegetable garden.", "六亩 (6) ↔ 'six acres' (6)"),
    ("行军二十公里。", "They marched 20 miles.", "二十公里 (20) ↔ '20 miles' (20)"),
    ("部队一天走了八十里路。", "The troops walked 80 kilometres in a day.", "八十里 (80) ↔ '80 kilometres' (80)"),
    ("种了五十多垧庄稼。", "They planted more than 50 mu of crops.", "五十多垧 (50–59) ↔ '50 mu' (50)"),
    ("开荒三顷。", "They reclaimed three hectares.", "三顷 (3) ↔ 'three hectares' (3)"),
    ("长征走了两万五千里。", "The 25,000-li Long March.", None),
    # The li's old English name is the "Chinese mile": loose, not a changed quantity.
    ("长征走了两万五千里。", "The Long March covered twenty-five thousand miles.", None),
    ("种了五十多垧庄稼。", "They planted more than 50 hectares.", None),  # a 垧 of the North-East is ~1 ha
    ("共重四百八十余斤。", "It weighed more than 480 jin.", None),
    ("产粮五千斤。", "It produced 5,000 pounds of grain.", None),  # 斤 as "pounds": the usual rendering
    ("运来三十吨煤。", "30 tons of coal arrived.", None),
])
def test_a_number_kept_with_another_unit_of_its_dimension_is_a_changed_quantity(zh, en, evidence):
    conflicts = [f.evidence() for f in compare(zh, en) if f.kind == "conflict"]
    assert conflicts == ([evidence] if evidence else [])


@pytest.mark.parametrize("zh,values", [
    ("游行队伍五万人接受检阅", [50000.0]),   # 伍 of 队伍 is not a numeral
    ("海陆军三个师", [3.0]),                 # nor 陆 of 陆军
    ("壹万伍仟元", [15000.0]),               # financial numerals on their own are
    ("棉花一百零五点五斤", [105.5]),         # a decimal point written 点
    ("一点一滴地积累", []),
])
def test_financial_numerals_and_the_decimal_point_are_read_in_context(zh, values):
    assert [q.low for q in zh_quantities(zh)] == values


@pytest.mark.parametrize("en,values", [
    ('the "Three-Eight Style"', [3.0, 8.0]),
    ("twenty-eight men", [28.0]),
    ("one hundred and twenty-five days", [125.0]),
])
def test_number_words_combine_only_as_numbers_do(en, values):
    assert [q.low for q in en_quantities(en)] == values
