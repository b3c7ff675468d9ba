#!/usr/bin/env bash
# Prints every figure of docs/evaluation.md: triage and language identification on the project's own
# fixtures and, when present, on the public sets (read in place, never copied; default location
# ../shared/data, or $CARELINE_PUBLIC_DATA). Usage: scripts/evaluate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
B=target/release/careline
DATA=${CARELINE_PUBLIC_DATA:-../shared/data}

summary_triage() { # name, then eval arguments
  local name=$1; shift
  $B eval triage --json "$@" | python3 -c '
import json, sys
r = json.load(sys.stdin); c = r["labels"]["crisis"]
print("{:<44} n={:>5}  crisis P={:.3f} R={:.3f} F1={:.3f}  accuracy={:.3f}  routine->human={:.1f}%".format(
    sys.argv[1], r["n"], c["precision"], c["recall"], c["f1"], r["accuracy"], 100 * r["routine_to_human"]))
' "$name"
}
summary_langid() {
  local name=$1; shift
  $B eval langid --json "$@" | python3 -c '
import json, sys
r = json.load(sys.stdin)
per = " ".join("{}={:.2f}".format(k, v["accuracy"]) for k, v in r["per_lang"].items())
print("{:<44} n={:>5}  accuracy={:.4f}  [{}]".format(sys.argv[1], r["n"], r["accuracy"], per))
' "$name"
}

echo "== triage, own fixtures"
summary_triage "fixtures/triage/heldout.tsv (held out)" fixtures/triage/heldout.tsv
summary_triage "heldout.tsv, lexicons alone" fixtures/triage/heldout.tsv --no-embedder
for d in dev dev2 dev3 dev4 dev5 dev6 dev7 dev8 dev9; do
  summary_triage "fixtures/triage/$d.tsv (tuned on)" fixtures/triage/$d.tsv
done
echo "== language identification, own fixtures"
for d in careline lingua whatlang; do
  summary_langid "chat messages, $d" fixtures/langid/chat.tsv --detector $d
  summary_langid "word pairs, $d" fixtures/langid/pairs.tsv --detector $d
done
if [ ! -d "$DATA" ]; then
  echo "(public sets not found at $DATA: set CARELINE_PUBLIC_DATA to measure them)"
  exit 0
fi
echo "== triage, public sets (careline, then the keyword baseline where it applies)"
SRL=$DATA/suicide_risk_lexicon/srl_v1_terms.csv
for set in crisis_en_tweets_suicidal crisis_es_tweets crisis_en_reddit_sdcnl reddit_mh_subreddits intent_medical_symptoms faq_medquad faq_liveqa_consumer; do
  csv=$(ls "$DATA/$set"/*.csv | head -1)
  summary_triage "$set" --set "$set" "$csv"
  case $set in crisis_*|reddit_*) summary_triage "$set (keyword baseline)" --set "$set" "$csv" --baseline-lexicon "$SRL" ;; esac
done
echo "== language identification, public sets"
LID=$DATA/lid_lingua_testdata/lingua_testdata_10lang_subset.csv
for tier in sentences word-pairs single-words; do
  for d in careline lingua whatlang; do
    summary_langid "lid_lingua_testdata $tier, $d" --set lid_lingua_testdata --tier $tier "$LID" --detector $d
  done
done
for d in careline lingua whatlang; do
  summary_langid "haitian_cmu_medical (ht), $d" --set haitian_cmu_medical "$DATA/haitian_cmu_medical/cmu_medical_en_ht.csv" --detector $d
done
