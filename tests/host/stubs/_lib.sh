# shellcheck shell=bash
# Shared by every simulated-host stub (sourced, never run). See tests/host/README.md.
#
# State lives under $SIM_STATE (a tmpfs private to the simulated host):
#   calls.log           one line per stub call: KIND<TAB>TOOL<TAB>ARG1<TAB>ARG2... (KIND is mut or ro)
#   mutations           number of mutating calls so far
#   fail/NAME           injected fault: NAME is TOOL or TOOL-OP[-SUBOP] (or a stub's own name, like curl-tamper);
#                       non-empty content = substring the call's "TOOL ARG1 ARG2..." line must contain to apply
#   fail-at-mutation    N: the N-th mutating call (counting from the start of the host) fails
#   call-count          number of stub calls so far, read-only ones included
#   fail-at-call        N: the N-th stub call of any kind (counting from the start of the host) fails
#   hooks/TOOL-OP       bash script run right before that call is handled (a concurrent actor)
#   gaps.log            stubs called in a way they do not simulate (the harness fails the test)
#   db/                 the host's simulated state (packages, units, sysctls, swap, ...): part of every snapshot
# and the cluster (API server/etcd) lives under $SIM_CLUSTER, shared by the hosts of one simulated cluster.
set -euo pipefail
export LC_ALL=C

if [ -z "${SIM_STATE:-}" ] || [ ! -d "${SIM_STATE}/db" ]; then
  printf '%s: simulated-host stub run outside the harness (SIM_STATE is not set)\n' "${0##*/}" >&2
  exit 127
fi
SIM_TOOL=${0##*/}
# The stubs directory: the cilium stub runs from /usr/local/bin once installed, so the harness passes it in SIM_STUBS.
SIM_STUBS=${SIM_STUBS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SIM_DB=$SIM_STATE/db
SIM_CLUSTER=${SIM_CLUSTER:-$SIM_DB/cluster}
SIM_FAULTED=""
SIM_LINE=""

# sim_call KIND OP ARGS...: records the call, runs hooks/TOOL-OP, and notes (in SIM_FAULTED) whether a fault applies.
# OP names the operation (`install`, `token-create`); faults match TOOL, TOOL-<op prefix> and TOOL-OP.
sim_call() {
  local kind=$1 op=$2 entry arg name prefix="" part n at parts=()
  shift 2
  SIM_LINE=$SIM_TOOL
  entry="$kind	$SIM_TOOL"
  for arg in "$@"; do
    SIM_LINE+=" $arg"
    arg=${arg//\\/\\\\}
    arg=${arg//$'\t'/\\t}
    entry+="	${arg//$'\n'/\\n}"
  done
  if [ -f "$SIM_STATE/hooks/$SIM_TOOL-$op" ]; then
    bash "$SIM_STATE/hooks/$SIM_TOOL-$op" >&2
  fi
  exec 9>>"$SIM_STATE/lock"
  flock 9
  printf '%s\n' "$entry" >>"$SIM_STATE/calls.log"
  n=$(($(cat "$SIM_STATE/call-count" 2>/dev/null || echo 0) + 1))
  printf '%s\n' "$n" >"$SIM_STATE/call-count"
  if [ "$(cat "$SIM_STATE/fail-at-call" 2>/dev/null || true)" = "$n" ]; then
    SIM_FAULTED="fail-at-call $n"
  fi
  if [ "$kind" = mut ]; then
    n=$(($(cat "$SIM_STATE/mutations" 2>/dev/null || echo 0) + 1))
    printf '%s\n' "$n" >"$SIM_STATE/mutations"
    at=$(cat "$SIM_STATE/fail-at-mutation" 2>/dev/null || true)
    if [ "$at" = "$n" ]; then
      SIM_FAULTED="fail-at-mutation $n"
    fi
  fi
  flock -u 9
  exec 9>&-
  local names=("$SIM_TOOL")
  IFS=- read -r -a parts <<<"$op"
  for part in "${parts[@]}"; do
    prefix=${prefix:+$prefix-}$part
    names+=("$SIM_TOOL-$prefix")
  done
  for name in "${names[@]}"; do
    if sim_armed "$name"; then
      SIM_FAULTED="fail/$name"
    fi
  done
  return 0
}

# sim_armed NAME: whether fail/NAME exists and applies to this call (its pattern, if any, is in the call's line).
# sim_call checks the TOOL[-OP] names; a stub checks its own special names (curl-tamper) with it after sim_call.
sim_armed() {
  local pattern
  [ -f "$SIM_STATE/fail/$1" ] || return 1
  pattern=$(cat "$SIM_STATE/fail/$1")
  [ -z "$pattern" ] || [[ $SIM_LINE == *"$pattern"* ]]
}

sim_faulted() { [ -n "$SIM_FAULTED" ]; }

# sim_fail [MESSAGE [STATUS]]: the injected failure.
sim_fail() {
  printf '%s: %s (simulated failure: %s)\n' "$SIM_TOOL" "${1:-operation failed}" "$SIM_FAULTED" >&2
  exit "${2:-1}"
}

# sim_check: fails now when a fault applies to this call; sim_check_as MESSAGE STATUS does so with the real tool's
# error message and exit status.
sim_check() {
  if sim_faulted; then sim_fail "operation failed"; fi
}
sim_check_as() {
  if sim_faulted; then sim_fail "$1" "$2"; fi
}

# sim_die MESSAGE: a stub used in a way it does not simulate (a harness gap, not a simulated failure). Also logged
# to gaps.log, which the harness turns into a test failure even when the script hid the stub's stderr.
sim_die() {
  printf '%s: [sim] %s (argv: %s)\n' "$SIM_TOOL" "$1" "$SIM_LINE" | tee -a "$SIM_STATE/gaps.log" >&2
  exit 2
}

# sim_kube_api KUBECONFIG: succeeds when KUBECONFIG names a file whose server is the cluster's running API server;
# otherwise prints kubectl's connection error and fails.
sim_kube_api() {
  local server
  if [ ! -f "$1" ]; then
    echo "The connection to the server localhost:8080 was refused - did you specify the right host or port?" >&2
    return 1
  fi
  server=$(sed -nE 's/^[[:space:]]*server: https:\/\/(.*)$/\1/p' "$1" | head -n 1)
  if [ ! -f "$SIM_CLUSTER/endpoint" ] || [ "$(cat "$SIM_CLUSTER/endpoint")" != "$server" ]; then
    echo "Unable to connect to the server: dial tcp ${server:-localhost:8080}: connect: connection refused" >&2
    return 1
  fi
}

# Key/value state: db/KEY holds one value.
sim_get() { cat "$SIM_DB/$1" 2>/dev/null || printf '%s\n' "${2:-}"; }
sim_set() {
  mkdir -p "$(dirname "$SIM_DB/$1")"
  printf '%s\n' "$2" >"$SIM_DB/$1"
}

# Sets of lines: db/FILE holds one member per line, sorted.
sim_has() { [ -f "$1" ] && grep -qxF -- "$2" "$1"; }
sim_add() {
  mkdir -p "$(dirname "$1")"
  { cat "$1" 2>/dev/null || true; printf '%s\n' "$2"; } | sort -u >"$1.sim-tmp"
  mv -f "$1.sim-tmp" "$1"
}
sim_del() {
  [ -f "$1" ] || return 0
  { grep -vxF -- "$2" "$1" || true; } >"$1.sim-tmp"
  mv -f "$1.sim-tmp" "$1"
}

# Packages: db/dpkg/PKG holds "VERSION STATUS" (STATUS: installed, unpacked, half-configured).
sim_pkg_status() { [ -f "$SIM_DB/dpkg/$1" ] && awk '{print $2}' "$SIM_DB/dpkg/$1"; }
sim_pkg_version() { [ -f "$SIM_DB/dpkg/$1" ] && awk '{print $1}' "$SIM_DB/dpkg/$1"; }

# sim_require_pkg PKG [PKG...]: the tool's binary exists only once one of the packages that ship it is unpacked,
# as on a real host.
sim_require_pkg() {
  local pkg
  for pkg in "$@"; do
    [ -f "$SIM_DB/dpkg/$pkg" ] && return 0
  done
  printf 'bash: %s: command not found\n' "$SIM_TOOL" >&2
  exit 127
}

# The pkgs.k8s.io release key: armored as curl downloads it, binary as gpg --dearmor writes it.
sim_release_key_armored() {
  cat <<'KEY'
-----BEGIN PGP PUBLIC KEY BLOCK-----

c2ltdWxhdGVkIHBrZ3MuazhzLmlvIHJlbGVhc2Uga2V5IChob21lbGFiIGhvc3Qg
dGVzdHMpOiBub3QgYSByZWFsIE9wZW5QR1Aga2V5Cg==
=AbCd
-----END PGP PUBLIC KEY BLOCK-----
KEY
}
sim_dearmor() {
  sed -e '/^-----/d' -e '/^=/d' -e '/^[[:space:]]*$/d' | base64 -d
}

# The containerd release series the host's containerd package is (db/containerd-series; default 1.7, Debian 12's).
# It decides what `containerd config default` prints and the built-in defaults of a running containerd.
sim_containerd_series() { sim_get containerd-series 1.7; }

# What a (re)started containerd loaded: "config=<digest> systemd_cgroup=true|false sandbox=<image>". Kept in
# db/units/containerd.active, so a config change that was never followed by a restart shows in the state. Read the
# way containerd reads its config: by TOML table, for the config's `version` (2: containerd 1.x's
# plugins."io.containerd.grpc.v1.cri" with sandbox_image; 3: containerd 2.x's plugins.'io.containerd.cri.v1.runtime'
# and plugins.'io.containerd.cri.v1.images'.pinned_images with sandbox). SystemdCgroup counts only in runc's options
# table; an unset key (containerd 2.0/2.1 print none for SystemdCgroup, containerd#12101) has containerd's default.
sim_containerd_loaded_config() {
  local file=/etc/containerd/config.toml digest=builtin-default systemd=false sandbox="" parsed
  if [ -f "$file" ]; then
    digest=sha256:$(sha256sum "$file" | awk '{print $1}')
    parsed=$(awk '
      function unquote(s) {
        sub(/^[[:space:]]+/, "", s); sub(/[[:space:]]+(#.*)?$/, "", s)
        if (s ~ /^".*"$/ || s ~ /^\047.*\047$/) s = substr(s, 2, length(s) - 2)
        return s
      }
      /^[[:space:]]*(#|$)/ { next }
      /^[[:space:]]*\[/ {
        table = $0; sub(/^[[:space:]]*\[+/, "", table); sub(/\]+[[:space:]]*(#.*)?$/, "", table)
        gsub(/["\047[:space:]]/, "", table)
        next
      }
      index($0, "=") > 0 {
        key = substr($0, 1, index($0, "=") - 1); gsub(/[[:space:]"\047]/, "", key)
        value = unquote(substr($0, index($0, "=") + 1))
        if (table == "" && key == "version") version = value
        else if (key == "SystemdCgroup" && table == "plugins.io.containerd.grpc.v1.cri.containerd.runtimes.runc.options") systemd2 = value
        else if (key == "SystemdCgroup" && table == "plugins.io.containerd.cri.v1.runtime.containerd.runtimes.runc.options") systemd3 = value
        else if (key == "sandbox_image" && table == "plugins.io.containerd.grpc.v1.cri") sandbox2 = value
        else if (key == "sandbox" && table == "plugins.io.containerd.cri.v1.images.pinned_images") sandbox3 = value
      }
      END {
        if (version == "3") print (systemd3 == "true" ? "true" : "false"), sandbox3
        else print (systemd2 == "true" ? "true" : "false"), sandbox2
      }' "$file")
    systemd=${parsed%% *}
    sandbox=${parsed#* }
  fi
  if [ -z "$sandbox" ]; then
    case $(sim_containerd_series) in
      2.*) sandbox=registry.k8s.io/pause:3.10 ;;
      *) sandbox=registry.k8s.io/pause:3.8 ;;
    esac
  fi
  printf 'config=%s systemd_cgroup=%s sandbox=%s\n' "$digest" "$systemd" "$sandbox"
}

# ConfigMap data: $SIM_CLUSTER/objects/NS/configmap/NAME holds one entry per key, either a `KEY=VALUE` line
# (a one-line value) or a `KEY<<DELIM` line, the value's lines, and a `DELIM` line (a multi-line value: the lines
# joined by newlines, so a value ending in a newline has an empty last line). An empty file is a ConfigMap without
# data.
# sim_configmap_get FILE KEY: prints KEY's value without adding a newline; status 1 when the key is absent.
sim_configmap_get() {
  awk -v key="$2" '
    block {
      if ($0 == delim) { block = 0; if (name == key) { found = 1; exit } next }
      if (name == key) value = (lines++ ? value "\n" : "") $0
      next
    }
    /^[-._A-Za-z0-9]+<<[A-Za-z0-9_]+$/ {
      name = substr($0, 1, index($0, "<<") - 1); delim = substr($0, index($0, "<<") + 2)
      block = 1; value = ""; lines = 0
      next
    }
    index($0, "=") > 0 && substr($0, 1, index($0, "=") - 1) == key { value = substr($0, index($0, "=") + 1); found = 1; exit }
    END { if (found) printf "%s", value; exit !found }
  ' "$1"
}
# sim_configmap_put FILE KEY VALUE: sets KEY (creating the ConfigMap if needed).
sim_configmap_put() {
  local file=$1 key=$2 value=$3 delim=EOF n=0
  mkdir -p "$(dirname "$file")"
  [ -f "$file" ] || : >"$file"
  awk -v key="$key" '
    block { if ($0 == delim) block = 0; if (name != key) print; next }
    /^[-._A-Za-z0-9]+<<[A-Za-z0-9_]+$/ {
      name = substr($0, 1, index($0, "<<") - 1); delim = substr($0, index($0, "<<") + 2); block = 1
      if (name != key) print
      next
    }
    !(index($0, "=") > 0 && substr($0, 1, index($0, "=") - 1) == key) { print }
  ' "$file" >"$file.sim-tmp"
  if [[ $value == *$'\n'* ]]; then
    while grep -qxF -- "$delim" <<<"$value"; do
      n=$((n + 1))
      delim=EOF$n
    done
    printf '%s<<%s\n%s\n%s\n' "$key" "$delim" "$value" "$delim" >>"$file.sim-tmp"
  else
    printf '%s=%s\n' "$key" "$value" >>"$file.sim-tmp"
  fi
  mv -f "$file.sim-tmp" "$file"
}

# sim_catalog PKG: "VERSION<TAB>SOURCE" for every version apt knows (from the lists of the last apt-get update),
# newest first. Debian's packages come from the distribution; the Kubernetes ones from each pkgs.k8s.io minor repo.
sim_catalog() {
  local pkg=$1 repo minor patch
  local lists=$SIM_DB/apt/lists
  [ -f "$lists" ] || return 0
  while IFS= read -r repo; do
    case $repo in
      debian)
        case $pkg in
          ca-certificates) printf '20230311\thttp://deb.debian.org/debian bookworm/main amd64 Packages\n' ;;
          curl) printf '7.88.1-10+deb12u12\thttp://deb.debian.org/debian bookworm/main amd64 Packages\n' ;;
          gpg) printf '2.2.40-1.1\thttp://deb.debian.org/debian bookworm/main amd64 Packages\n' ;;
          containerd) printf '1.7.24~ds1-1\thttp://deb.debian.org/debian bookworm-backports/main amd64 Packages\n' ;;
        esac
        ;;
      https://pkgs.k8s.io/core:/stable:/v1.*/deb/)
        minor=${repo#https://pkgs.k8s.io/core:/stable:/v1.}
        minor=${minor%%/*}
        case $pkg in
          kubelet | kubeadm | kubectl)
            for patch in 12 11 10 9 8 7 6 5 4 3 2 1 0; do
              printf '1.%s.%s-1.1\t%s  Packages\n' "$minor" "$patch" "${repo%/}"
            done
            ;;
          cri-tools) printf '1.%s.0-1.1\t%s  Packages\n' "$minor" "${repo%/}" ;;
          kubernetes-cni) printf '1.6.0-1.1\t%s  Packages\n' "${repo%/}" ;;
        esac
        ;;
    esac
  done <"$lists"
}
