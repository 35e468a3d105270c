#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/mkimage.sh - build a small test image from Debian's busybox-static,
# with local tools only (no network), byte-for-byte reproducible: the same
# arguments always give the same archive, so digests and image ids are
# stable across runs and machines with the same /bin/busybox.
#
# Usage:
#   tools/mkimage.sh -o FILE [-t REPO:TAG]... [--variant STR] [--gzip] [--oci]
#                    [--no-tag] [--layers DIR] [--volume PATH]...
#
#   -o FILE        where to write the archive ("-" for stdout)
#   -t REPO:TAG    tag(s) recorded in the archive (default shoal/busybox:latest)
#   --no-tag       record no tag (docker save of an image id: RepoTags null)
#   --variant STR  change layer 2 only (its /etc/shoal-release says STR), so
#                  two variants share their base layer and nothing else
#   --gzip         gzip the outer archive (gzip -n: no name, no time)
#   --oci          OCI image layout instead of the legacy docker save layout
#   --layers DIR   also leave the two layer tars and the config in DIR
#                  (layer1.tar, layer2.tar, config.json) for tests
#   --volume PATH  a VOLUME entry in the config (Config.Volumes), repeatable
#
# The image (both layouts):
#   layer 1 (base)   bin/busybox (static) and a symlink bin/<applet> -> busybox
#                    for every applet of `busybox --list` (sh, tar, sleep, cat,
#                    echo, ls, sha256sum, true, false, mkdir, rm, env, id,
#                    hostname, ip, ping, ...); dev/ proc/ sys/ root/ tmp/ (1777)
#                    usr/bin/ usr/sbin/ sbin/; etc/passwd, etc/group, etc/hosts,
#                    etc/hostname; data/a ("a"), data/b ("b"),
#                    data/old/x ("x"), data/old/y ("y")
#   layer 2          data/.wh.b              whiteout: b is deleted
#                    data/old/.wh..wh..opq   opaque dir: x and y are hidden
#                    data/old/new ("new"), data/c ("c"),
#                    etc/shoal-release ("shoal test image <variant>")
#   so the container sees /data/a, /data/c, /data/old/new and no /data/b,
#   /data/old/x or /data/old/y.
#   config           architecture amd64, os linux, config {Env [PATH=...],
#                    Cmd ["sh"], WorkingDir "/"}, created 1970-01-01T00:00:00Z,
#                    rootfs {type layers, diff_ids [sha256 of each layer.tar]},
#                    history (one entry per layer)
#
# Legacy layout (default; what `docker save` wrote before Docker 25, read by
# `docker load` and skopeo's docker-archive: transport):
#   manifest.json                 [{"Config":"<cfg>.json","RepoTags":[...],
#                                   "Layers":["<l1>/layer.tar","<l2>/layer.tar"]}]
#   repositories                  {"REPO":{"TAG":"<l2>"}}
#   <cfg>.json                    the config; <cfg> = image id (sha256 of it)
#   <l1>/layer.tar, <l1>/VERSION ("1.0"), <l1>/json (v1 layer json)
#   <l2>/layer.tar, <l2>/VERSION, <l2>/json  (<lN> = hex of its diff_id)
# OCI layout (--oci):
#   oci-layout                    {"imageLayoutVersion":"1.0.0"}
#   index.json                    one manifest descriptor per tag, annotated
#                                 io.containerd.image.name (full name) and
#                                 org.opencontainers.image.ref.name (tag)
#   blobs/sha256/<hex>            config, manifest (application/vnd.oci.image.
#                                 manifest.v1+json) and the two layer tars
#                                 (application/vnd.oci.image.layer.v1.tar)
#
# Prints the image id (sha256:<hex of the config>) on stdout, unless the
# archive itself goes there (-o -).
set -Eeuo pipefail
umask 022
export LC_ALL=C

OUT= GZIP_OUT=0 OCI=0 VARIANT= NOTAG=0 LAYERS_DIR= VOLUMES=
TAGS=()
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "mkimage.sh: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^# The image/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while [ $# -gt 0 ]; do
	case $1 in
	-o) [ $# -ge 2 ] || die "-o needs a file"; OUT=$2; shift 2 ;;
	-t) [ $# -ge 2 ] || die "-t needs REPO:TAG"; TAGS+=("$2"); shift 2 ;;
	--variant) [ $# -ge 2 ] || die "--variant needs a value"; VARIANT=$2; shift 2 ;;
	--layers) [ $# -ge 2 ] || die "--layers needs a directory"; LAYERS_DIR=$2; shift 2 ;;
	--volume) [ $# -ge 2 ] && [[ $2 == /* ]] || die "--volume needs an absolute path"
		VOLUMES+="${VOLUMES:+,}\"$2\":{}"; shift 2 ;;
	--gzip) GZIP_OUT=1; shift ;;
	--oci) OCI=1; shift ;;
	--no-tag) NOTAG=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "mkimage.sh: unknown argument: $1" >&2; usage ;;
	esac
done
[ -n "$OUT" ] || { echo "mkimage.sh: -o FILE is required" >&2; usage; }
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (install busybox-static)"
if [ "$NOTAG" = 1 ]; then
	TAGS=()
elif [ ${#TAGS[@]} -eq 0 ]; then
	TAGS=(shoal/busybox:latest)
fi
for t in "${TAGS[@]}"; do
	# The tag is what follows the last ':' after the last '/'.
	case ${t##*/} in *:*) ;; *) die "-t $t: expected REPO:TAG" ;; esac
done

T=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$T"' EXIT

# Reproducible tar: fixed times, owners and order.
dtar() { tar --format=gnu --mtime=@0 --owner=0 --group=0 --numeric-owner --sort=name "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# Directory contents, sorted, without a leading "./" (as Docker's layer tars).
tar_dir() { (cd "$1" && dtar -cf "$2" $(ls -A)); }

# ---- layer 1: the base --------------------------------------------------
L1=$T/l1
mkdir -p "$L1"/{bin,dev,etc,proc,sys,root,tmp,usr/bin,usr/sbin,sbin,data/old}
chmod 1777 "$L1/tmp"
chmod 700 "$L1/root"
cp "$BUSYBOX" "$L1/bin/busybox"
chmod 755 "$L1/bin/busybox"
for a in $("$BUSYBOX" --list); do
	case $a in busybox|*/*|'') continue ;; esac
	ln -s busybox "$L1/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$L1/etc/passwd"
printf 'root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n' > "$L1/etc/group"
printf '127.0.0.1\tlocalhost\n' > "$L1/etc/hosts"
printf 'shoal\n' > "$L1/etc/hostname"
printf 'a\n' > "$L1/data/a"
printf 'b\n' > "$L1/data/b"
printf 'x\n' > "$L1/data/old/x"
printf 'y\n' > "$L1/data/old/y"
tar_dir "$L1" "$T/layer1.tar"

# ---- layer 2: whiteouts and new files ------------------------------------
L2=$T/l2
mkdir -p "$L2/data/old" "$L2/etc"
: > "$L2/data/.wh.b"
: > "$L2/data/old/.wh..wh..opq"
printf 'new\n' > "$L2/data/old/new"
printf 'c\n' > "$L2/data/c"
printf 'shoal test image%s\n' "${VARIANT:+ $VARIANT}" > "$L2/etc/shoal-release"
tar_dir "$L2" "$T/layer2.tar"

D1=$(sha "$T/layer1.tar")
D2=$(sha "$T/layer2.tar")
S1=$(stat -c %s "$T/layer1.tar")
S2=$(stat -c %s "$T/layer2.tar")

# ---- config ---------------------------------------------------------------
EPOCH=1970-01-01T00:00:00Z
VOLJSON=
[ -z "$VOLUMES" ] || VOLJSON=",\"Volumes\":{$VOLUMES}"
printf '{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"%s},"created":"%s","history":[{"created":"%s","created_by":"tools/mkimage.sh: busybox rootfs"},{"created":"%s","created_by":"tools/mkimage.sh: whiteouts%s"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' \
	"$VOLJSON" "$EPOCH" "$EPOCH" "$EPOCH" "${VARIANT:+ $VARIANT}" "$D1" "$D2" > "$T/config.json"
CFG=$(sha "$T/config.json")
CFGSIZE=$(stat -c %s "$T/config.json")

if [ -n "$LAYERS_DIR" ]; then
	mkdir -p "$LAYERS_DIR"
	cp "$T/layer1.tar" "$T/layer2.tar" "$T/config.json" "$LAYERS_DIR/"
fi

# "a/b:t" -> repo "a/b", tag "t"
repo_of() { local t=$1 last=${1##*/}; echo "${t%:"${last#*:}"}"; }
tag_of() { local last=${1##*/}; echo "${last#*:}"; }
json_tags() {
	local out= t
	for t in "${TAGS[@]}"; do out+=${out:+,}"\"$t\""; done
	if [ ${#TAGS[@]} -eq 0 ]; then echo null; else echo "[$out]"; fi
}

A=$T/archive
mkdir -p "$A"
if [ "$OCI" = 0 ]; then
	for n in 1 2; do
		d=$([ $n = 1 ] && echo "$D1" || echo "$D2")
		mkdir -p "$A/$d"
		cp "$T/layer$n.tar" "$A/$d/layer.tar"
		printf '1.0' > "$A/$d/VERSION"
		if [ $n = 1 ]; then
			printf '{"id":"%s","created":"%s","os":"linux"}' "$d" "$EPOCH" > "$A/$d/json"
		else
			printf '{"id":"%s","parent":"%s","created":"%s","container_config":{"Cmd":["sh"]},"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"architecture":"amd64","os":"linux"}' \
				"$d" "$D1" "$EPOCH" > "$A/$d/json"
		fi
	done
	cp "$T/config.json" "$A/$CFG.json"
	printf '[{"Config":"%s.json","RepoTags":%s,"Layers":["%s/layer.tar","%s/layer.tar"]}]\n' \
		"$CFG" "$(json_tags)" "$D1" "$D2" > "$A/manifest.json"
	if [ ${#TAGS[@]} -gt 0 ]; then
		# {"repo":{"tag":"<top layer>",...},...}, repos in order of first use
		repos=()
		for t in "${TAGS[@]}"; do
			r=$(repo_of "$t")
			case " ${repos[*]-} " in *" $r "*) ;; *) repos+=("$r") ;; esac
		done
		out=
		for r in "${repos[@]}"; do
			inner=
			for t in "${TAGS[@]}"; do
				[ "$(repo_of "$t")" = "$r" ] && inner+=${inner:+,}"\"$(tag_of "$t")\":\"$D2\""
			done
			out+=${out:+,}"\"$r\":{$inner}"
		done
		printf '{%s}\n' "$out" > "$A/repositories"
	fi
else
	B=$A/blobs/sha256
	mkdir -p "$B"
	cp "$T/layer1.tar" "$B/$D1"
	cp "$T/layer2.tar" "$B/$D2"
	cp "$T/config.json" "$B/$CFG"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$CFG" "$CFGSIZE" "$D1" "$S1" "$D2" "$S2" > "$T/manifest"
	M=$(sha "$T/manifest")
	MSIZE=$(stat -c %s "$T/manifest")
	cp "$T/manifest" "$B/$M"
	printf '{"imageLayoutVersion":"1.0.0"}' > "$A/oci-layout"
	descs=
	desc() { # [annotations]
		printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s%s}' \
			"$M" "$MSIZE" "$1"
	}
	if [ ${#TAGS[@]} -eq 0 ]; then
		descs=$(desc "")
	fi
	for t in "${TAGS[@]}"; do
		r=$(repo_of "$t")
		# Docker's full name: docker.io/library/x for a bare name.
		case $r in
		*.*/*|*:*/*|localhost/*) full=$r ;;
		*/*) full=docker.io/$r ;;
		*) full=docker.io/library/$r ;;
		esac
		descs+=${descs:+,}$(desc ",\"annotations\":{\"io.containerd.image.name\":\"$full:$(tag_of "$t")\",\"org.opencontainers.image.ref.name\":\"$(tag_of "$t")\"}")
	done
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}\n' \
		"$descs" > "$A/index.json"
fi

# Outer archive: top-level entries sorted, no "./" prefix (as docker save).
tar_dir "$A" "$T/out.tar"
if [ "$GZIP_OUT" = 1 ]; then
	gzip -n -9 < "$T/out.tar" > "$T/out"
else
	mv "$T/out.tar" "$T/out"
fi
if [ "$OUT" = - ]; then
	cat "$T/out"
else
	mv "$T/out" "$OUT"
fi
[ "$OUT" = - ] || printf 'sha256:%s\n' "$CFG"
