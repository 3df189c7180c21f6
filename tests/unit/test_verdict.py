"""The report's verdict (report/verdict.py): each finding from hand-made metrics and selections."""

from __future__ import annotations

from stylecluster.report import verdict

GOOD = {"best_k": 8, "n_clusters": 8, "silhouette": 0.62, "prominence": 0.17,
        "largest_cluster_share": 0.16, "worst_month_top_share": 0.39, "length_skew": 1.02,
        "length_cluster_corr": 0.06, "nmi": 0.93, "ari": 0.91}
PEAK = {"best_k": 8, "has_peak": True, "prominence": 0.167, "chosen_by": "silhouette peak"}


def _by_title(metrics, selection=PEAK):
    return {f.title: f for f in verdict.findings(metrics, selection)}


def test_a_good_run_reads_ok_with_its_numbers():
    found = _by_title(GOOD)
    assert list(found) == ["Clear silhouette peak", "Clusters balanced",
                           "Agreement with the labels"], list(found)
    peak = found["Clear silhouette peak"]
    assert peak.level == "ok" and "k = 8" in peak.text and "silhouette peak" in peak.text
    assert "0.167" in peak.text
    assert found["Clusters balanced"].level == "ok" and "16%" in found["Clusters balanced"].text
    labels = found["Agreement with the labels"]
    assert labels.level == "info" and "NMI 0.93" in labels.text and "ARI 0.91" in labels.text


def test_no_peak_names_how_k_was_chosen():
    sel = {"best_k": 4, "has_peak": False, "prominence": 0.01, "chosen_by": "stability peak"}
    f = verdict.findings(GOOD, sel)[0]
    assert (f.level, f.title) == ("warn", "No clear silhouette peak")
    assert "k = 4 comes from the stability peak (fallback)" in f.text
    old = verdict.findings({}, {"best_k": 3, "has_peak": False})[0]  # no chosen_by (older file)
    assert "silhouette argmax" in old.text
    bic = verdict.findings(GOOD, {**sel, "chosen_by": "bic minimum"})[0]  # a rule, not a fallback
    assert "k = 4 comes from the bic minimum, silhouette 0.62" in bic.text, bic.text


def test_imbalance_is_a_warning_naming_the_threshold():
    f = _by_title({**GOOD, "largest_cluster_share": 0.51, "worst_month_top_share": 0.7,
                   "n_months_ignored": 2})["Clusters not balanced"]
    assert f.level == "warn"
    assert "the largest cluster holds 51% of the posts (over 40%)" in f.text.lower()
    assert "one cluster holds 70% of a month (over 60%)" in f.text
    assert "2 small month(s) not counted" in f.text


def test_length_skew_warning_from_either_metric():
    assert "Clusters follow caption length" not in _by_title(GOOD)
    skew = _by_title({**GOOD, "length_skew": 2.06})["Clusters follow caption length"]
    assert skew.level == "warn" and "length skew 2.06 > 1.2" in skew.text
    eta = _by_title({**GOOD, "length_cluster_corr": 0.77})["Clusters follow caption length"]
    assert "0.77 > 0.5" in eta.text
    assert "Clusters follow caption length" not in _by_title(
        {**GOOD, "length_skew": None, "length_cluster_corr": None})


def test_high_silhouette_with_ari_near_zero_warns():
    found = _by_title({**GOOD, "silhouette": 0.88, "ari": 0.01, "nmi": 0.05})
    f = found["Tidy clusters, wrong grouping"]
    assert f.level == "warn" and "0.88" in f.text and "0.01" in f.text
    low_sil = _by_title({**GOOD, "silhouette": 0.2, "ari": 0.01})
    assert "Tidy clusters, wrong grouping" not in low_sil


def test_without_labels_or_balance_metrics_those_findings_are_left_out():
    found = _by_title({"silhouette": 0.4})
    assert list(found) == ["Clear silhouette peak"]


def test_k_set_by_hand_is_said():
    found = _by_title({**GOOD, "n_clusters": 5})
    assert "cluster.n_clusters" in found["k set by hand"].text
