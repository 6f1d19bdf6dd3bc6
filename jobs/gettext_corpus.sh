#!/usr/bin/env bash
# The gettext corpus recipe: English -> de/fr/it/zh_CN/ar pairs from the
# translated UI strings that Debian packages ship as compiled .mo catalogs.
#
#   bash jobs/gettext_corpus.sh [DATA_DIR] [extra landermt args, e.g. --set prep.vocab_size=8000]
#
# 1. download: `apt-get download` (no install, no root needed) of a fixed list
#    of packages into DATA_DIR/debs (default DATA_DIR: data/gettext);
# 2. extract:  `dpkg-deb -x` of each into DATA_DIR/root;
# 3. prep:     `landermt prep -c configs/gettext.yaml` on DATA_DIR/root,
#              writing DATA_DIR/corpus.h5.
# Idempotent: packages already downloaded or extracted are skipped. Needs a
# Debian/Ubuntu machine with apt package lists (apt-get update) and network
# access to its archive. The package versions come from those lists, so
# counts can drift with Debian point releases (docs/prep.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/gettext
if [[ $# -gt 0 && $1 != -* ]]; then DATA=$1; shift; fi
LANDERMT=${LANDERMT:-./build/landermt}
PACKAGES=(gcc-12-locales util-linux-locales libc-l10n libgtk-3-common libglib2.0-data
          vlc-l10n git)
for lang in de fr it zh-cn ar; do PACKAGES+=("libreoffice-l10n-$lang"); done

phase_start=$(date +%s.%N)
phase_end() {  # prints the wall time of the phase that just ended
  local now; now=$(date +%s.%N)
  awk -v p="$1" -v a="$phase_start" -v b="$now" 'BEGIN { printf "gettext_corpus: %-8s %6.1f s\n", p, b - a }'
  phase_start=$now
}

mkdir -p "$DATA/debs" "$DATA/root/.extracted"
have_deb() { compgen -G "$DATA/debs/${1}_*.deb" >/dev/null; }
missing=()
for p in "${PACKAGES[@]}"; do have_deb "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "gettext_corpus: downloading ${missing[*]}"
  # apt-get download writes into the current directory.
  if ! (cd "$DATA/debs" && apt-get download -q "${missing[@]}"); then
    echo "error: apt-get download failed for some of: ${missing[*]}" >&2
    echo "HINT: run 'apt-get update' (package lists) and check the network to the archive" >&2
    exit 1
  fi
fi
phase_end download

for deb in "$DATA"/debs/*.deb; do
  mark="$DATA/root/.extracted/$(basename "$deb").done"
  [[ -f $mark ]] && continue
  dpkg-deb -x "$deb" "$DATA/root"
  touch "$mark"
done
phase_end extract

"$LANDERMT" prep -c configs/gettext.yaml --set "prep.mo=[\"$DATA/root\"]" \
  --set "prep.output=$DATA/corpus.h5" "$@"
phase_end prep
