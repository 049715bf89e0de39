#!/usr/bin/env bash
# Prints everything a script run can change on the simulated host, one line per entry, sorted:
#   AREA:PATH<TAB>TYPE MODE [sha256 of the content | -> symlink target]
# AREA is the overlaid directory (/etc, /var/lib, ...: its upper layer, i.e. every file created, changed or deleted
# since the host was built, deletions showing as "whiteout"), proc (/proc/meminfo and /proc/modules), /sys/module (a
# directory per module the kernel has, on the host's own tmpfs), /sys/fs/bpf (pinned BPF state, a private tmpfs), db (the stubs' state), cluster (a cluster shared with
# other simulated hosts), home, or tmp (the commands' $TMPDIR).
set -euo pipefail
export LC_ALL=C

tree() { # LABEL DIR
  local label=$1 dir=$2
  [ -d "$dir" ] || return 0
  (
    cd "$dir"
    find . -mindepth 1 \( -type f -printf 'f\t%m\t%P\n' \) -o \( -type l -printf 'l\t%m\t%P\t%l\n' \) \
      -o \( -type c -printf 'c\t%m\t%P\n' \) -o \( -type d -printf 'd\t%m\t%P\n' \) >"$SIM_ROOT/snapshot.list"
    find . -mindepth 1 -type f -printf '%P\0' | xargs -0 -r sha256sum -- >"$SIM_ROOT/snapshot.sums"
  )
  awk -F '\t' -v label="$label" '
    FNR == NR { hash = substr($0, 1, 64); path = substr($0, 67); sums[path] = hash; next }
    $1 == "f" { printf "%s/%s\tfile %s %s\n", label, $3, $2, sums[$3]; next }
    $1 == "l" { printf "%s/%s\tsymlink -> %s\n", label, $3, $4; next }
    $1 == "c" { printf "%s/%s\twhiteout\n", label, $3; next }
    { printf "%s/%s\tdir %s\n", label, $3, $2 }
  ' "$SIM_ROOT/snapshot.sums" "$SIM_ROOT/snapshot.list"
}

{
  for dir in /etc /var/lib /var/log /opt /usr/local /run; do
    tree "$dir:" "$SIM_ROOT/layers/$(tr / _ <<<"$dir")/upper"
  done
  for file in meminfo modules; do
    printf 'proc:/%s\tfile 444 %s\n' "$file" "$(sha256sum </proc/$file | cut -c1-64)"
  done
  tree /sys/module: /sys/module
  tree /sys/fs/bpf: /sys/fs/bpf
  tree db: "$SIM_STATE/db"
  case $SIM_CLUSTER in
    "$SIM_STATE"/*) ;;
    *) tree cluster: "$SIM_CLUSTER" ;;
  esac
  tree home: "$HOME"
  tree tmp: "$SIM_ROOT/tmp"
} | sort
