from stapy.semantic.suggest import levenshtein, similar, suggest


def test_levenshtein_weights():
    # stap's weights: substitution 2, same letter other case 1, insertion/deletion 2
    assert levenshtein("abc", "abc") == 0
    assert levenshtein("abc", "abd") == 2
    assert levenshtein("abc", "aBc") == 1
    assert levenshtein("ab", "abc") == 2
    assert levenshtein("", "xyz") == 3
    assert levenshtein("x", "") == 1


def test_ties_in_name_order_and_limit():
    assert suggest("a", ["c", "b", "a"]) == "a, b, c"
    assert suggest("x", ["aa", "b", "c", "d", "e", "f", "g"], 5) == "b, c, d, e, f"


def test_similar_text():
    assert similar("y", ["x"]) == " (similar: x)"
    assert similar("y", []) == ""
