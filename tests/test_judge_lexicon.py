"""Dictionary coverage (judge.lexicon): the evidence behind sentence_addition / sentence_omission."""

from evalkit.judge.lexicon import chinese_coverage, chinese_sentences, english_coverage, sense_bag

ZH = "工人们在工厂里努力生产钢铁。农民们在田野里收割小麦和水稻。"
EN = "The workers worked hard in the factory to produce steel. The peasants harvested wheat and rice in the fields."


def test_a_faithful_paragraph_covers_each_sentence_on_both_sides():
    assert all(c is not None and c >= 0.6 for c in chinese_coverage(chinese_sentences(ZH), EN))
    assert all(c is not None and c >= 0.6 for c in english_coverage(
        ["The workers worked hard in the factory to produce steel.",
         "The peasants harvested wheat and rice in the fields."], sense_bag(ZH)))


def test_a_chinese_sentence_the_english_drops_has_almost_no_coverage():
    dropped = "The workers worked hard in the factory to produce steel."
    assert chinese_coverage(chinese_sentences(ZH), dropped)[1] <= 0.2


def test_an_english_sentence_with_no_support_in_the_chinese_has_low_coverage():
    (invented,) = english_coverage(["The meeting closed amid warm applause from delegates of every province."],
                                   sense_bag(ZH))
    assert invented is not None and invented <= 0.2


def test_words_whose_every_sense_is_a_function_word_are_not_counted():
    # 已经 is only "already", a function word: the English need not carry it in a content word, so
    # it does not count against the sentence (all five content words are rendered).
    (coverage,) = chinese_coverage(["工人们已经在工厂里努力生产钢铁。"],
                                   "The workers have been working hard in the factory producing steel.")
    assert coverage == 1.0
