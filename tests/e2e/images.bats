#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Images end to end: the busybox test image from tools/mkimage.sh through
# load, import, save, tag, rmi and pull (Debian's docker-registry, pushed
# with skopeo), layers shared on the storage driver, archives that must be
# refused without leaving anything behind, and round trips with the real
# Docker engine when Debian's dockerd is installed.

load helpers
load image_helpers

setup() {
	e2e_setup
	start_shoald
	IMG=$W/img.tar
	ID=$(mkimage "$IMG")
	DIFF_IDS=$(archive_diff_ids "$IMG")
}

teardown() {
	[ -n "${W:-}" ] && dockerd_stop
	e2e_teardown
}

@test "mkimage.sh is reproducible and writes the documented layout" {
	[[ "$ID" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(mkimage "$W/again.tar")" = "$ID" ]
	cmp "$IMG" "$W/again.tar"
	run tar -tf "$IMG"
	[[ "$output" == *"manifest.json"* ]]
	[[ "$output" == *"repositories"* ]]
	[[ "$output" == *"${ID#sha256:}.json"* ]]
	[ "$(echo "$output" | grep -c '/layer.tar$')" -eq 2 ]
	[ "$(echo "$DIFF_IDS" | jq length)" -eq 2 ]
	[ "$(tar -xOf "$IMG" manifest.json | jq -r '.[0].RepoTags[0]')" = shoal/busybox:latest ]
	# the id is the config's digest, the diff_ids the layer tars' digests
	[ "sha256:$(tar -xOf "$IMG" "${ID#sha256:}.json" | sha256sum | cut -d' ' -f1)" = "$ID" ]
	l2=$(tar -xOf "$IMG" manifest.json | jq -r '.[0].Layers[1]')
	[ "sha256:$(tar -xOf "$IMG" "$l2" | sha256sum | cut -d' ' -f1)" = "$(echo "$DIFF_IDS" | jq -r '.[1]')" ]
	run tar -tvf <(tar -xOf "$IMG" "$l2")
	[[ "$output" == *"data/.wh.b"* ]]
	[[ "$output" == *"data/old/.wh..wh..opq"* ]]
	# a variant shares the base layer only
	mkimage "$W/v.tar" --variant v >/dev/null
	v=$(archive_diff_ids "$W/v.tar")
	[ "$(echo "$v" | jq -r '.[0]')" = "$(echo "$DIFF_IDS" | jq -r '.[0]')" ]
	[ "$(echo "$v" | jq -r '.[1]')" != "$(echo "$DIFF_IDS" | jq -r '.[1]')" ]
}

@test "load -i: images lists it, inspect shows its layers and the driver" {
	run shoal load -i "$IMG"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: shoal/busybox:latest" ]
	run shoal images
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "REPOSITORY      TAG       IMAGE ID       CREATED        SIZE" ]
	[[ "${lines[1]}" =~ ^shoal/busybox\ +latest\ +${ID:7:12}\ +56\ years\ ago\ +[0-9.]+MB$ ]]
	[ "${#lines[@]}" -eq 2 ]
	run shoal image ls -q
	[ "$output" = "${ID:7:12}" ]
	run shoal images --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}'
	[ "$output" = "$ID shoal/busybox:latest" ]
	run shoal image inspect shoal/busybox:latest
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].Id')" = "$ID" ]
	[ "$(echo "$output" | jq -c '.[0].RepoTags')" = '["shoal/busybox:latest"]' ]
	[ "$(echo "$output" | jq -r '.[0].RootFS.Type')" = layers ]
	[ "$(echo "$output" | jq -c '.[0].RootFS.Layers')" = "$DIFF_IDS" ]
	[ "$(echo "$output" | jq -r '.[0].GraphDriver.Name')" = "$(driver)" ]
	[ "$(echo "$output" | jq -r '.[0].Architecture')" = amd64 ]
	[ "$(echo "$output" | jq -r '.[0].Os')" = linux ]
	[ "$(echo "$output" | jq -c '.[0].Config.Cmd')" = '["sh"]' ]
	[ "$(echo "$output" | jq -r '.[0].Config.WorkingDir')" = / ]
	# size: what the layers hold (busybox and a few small files), as docker
	size=$(echo "$output" | jq -r '.[0].Size')
	[ "$size" -ge "$(stat -c %s /bin/busybox)" ]
	[ "$size" -le "$(( $(stat -c %s /bin/busybox) + 65536 ))" ]
	[ "$(shoal images --format '{{.Size}}')" = "$(awk -v s="$size" 'BEGIN {
		split("B kB MB GB", u); i = 1; while (s >= 1000 && i < 4) { s /= 1000; i++ }
		printf "%.3g%s", s, u[i] }')" ]
	# by id, by short id, by name without the tag
	[ "$(img_field "$ID" '{{.Id}}')" = "$ID" ]
	[ "$(img_field "${ID:7:12}" '{{.Id}}')" = "$ID" ]
	[ "$(img_field shoal/busybox '{{.Id}}')" = "$ID" ]
	[ "$(layer_dirs)" -eq 2 ]
	[ "$(blob_count)" -ge 3 ] # config + two layers
	run shoal image inspect nosuch:image
	[ "$status" -eq 1 ]
	[ "$output" = "[]"$'\n'"Error: No such image: nosuch:image" ]
}

@test "load from stdin and of an OCI layout; load refuses a terminal" {
	run bash -c "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' load < '$IMG'"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: shoal/busybox:latest" ]
	mkimage "$W/oci.tar" --oci -t oci/busybox:1 >/dev/null
	run shoal load -i "$W/oci.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: oci/busybox:1" ]
	[ "$(img_field oci/busybox:1 '{{.Id}}')" = "$ID" ]
	[ "$(img_field oci/busybox:1 '{{json .RootFS.Layers}}')" = "$DIFF_IDS" ]
	[ "$(layer_dirs)" -eq 2 ]
	# a terminal on stdin: refused at once, as docker does
	run script -qec "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' load" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"requested load from stdin, but stdin is empty"* ]]
	run script -qec "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' save shoal/busybox" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"cowardly refusing to save to a terminal. Use the -o flag or redirect"* ]]
}

@test "a gzip-compressed archive loads as the same image" {
	mkimage "$W/img.tgz" --gzip >/dev/null
	run shoal load -i "$W/img.tgz"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: shoal/busybox:latest" ]
	[ "$(img_field shoal/busybox '{{.Id}}')" = "$ID" ]
	[ "$(img_field shoal/busybox '{{json .RootFS.Layers}}')" = "$DIFF_IDS" ]
}

@test "loading an archive again stores nothing twice" {
	shoal load -i "$IMG" >/dev/null
	before=$(store_state)
	run shoal load -i "$IMG"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: shoal/busybox:latest" ]
	[ "$(store_state)" = "$before" ]
	[ "$(layer_dirs)" -eq 2 ]
	# under another tag: one more name, no more content
	mkimage "$W/other.tar" -t other/name:2 >/dev/null
	shoal load -i "$W/other.tar" >/dev/null
	[ "$(layer_dirs)" -eq 2 ]
	[ "$(shoal images -q | sort -u)" = "${ID:7:12}" ]
	[ "$(img_field "$ID" '{{len .RepoTags}}')" -eq 2 ]
}

@test "two images share their base layer; rmi keeps what the other uses" {
	ida=$(mkimage "$W/a.tar" -t t/a:1)
	idb=$(mkimage "$W/b.tar" -t t/b:1 --variant b)
	[ "$ida" != "$idb" ]
	shoal load -i "$W/a.tar" >/dev/null
	[ "$(layer_dirs)" -eq 2 ]
	shoal load -i "$W/b.tar" >/dev/null
	[ "$(layer_dirs)" -eq 3 ] # base once, two tops
	[ "$(shoal images -q | wc -l)" -eq 2 ]
	run shoal rmi t/a:1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Untagged: t/a:1" ]
	[[ "$output" == *"Deleted: $ida"* ]]
	[ "$(layer_dirs)" -eq 2 ]
	[ "$(img_field t/b:1 '{{.Id}}')" = "$idb" ]
	run shoal image rm t/b:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Untagged: t/b:1"* ]]
	[[ "$output" == *"Deleted: $idb"* ]]
	[ "$(layer_dirs)" -eq 0 ]
	run shoal images -q
	[ -z "$output" ]
}

@test "tag and rmi: untag first, delete with the last name or -f" {
	shoal load -i "$IMG" >/dev/null
	run shoal tag shoal/busybox:latest 127.0.0.1:5000/x/y:2
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	shoal image tag "${ID:7:12}" other # by short id, default tag latest
	run shoal images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	[[ "$output" == *"127.0.0.1:5000/x/y:2 ${ID:7:12}"* ]]
	[[ "$output" == *"other:latest ${ID:7:12}"* ]]
	[[ "$output" == *"shoal/busybox:latest ${ID:7:12}"* ]]
	[ "$(img_field "$ID" '{{len .RepoTags}}')" -eq 3 ]
	# filter by reference, as `docker images REPOSITORY[:TAG]`
	run shoal images -q other
	[ "$output" = "${ID:7:12}" ]
	run shoal rmi other:latest
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: other:latest" ]
	[ "$(layer_dirs)" -eq 2 ]
	# by id with several names: refused without -f
	run shoal rmi "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == "Error response from daemon: "* ]]
	[ "$(img_field "$ID" '{{len .RepoTags}}')" -eq 2 ]
	run shoal rmi -f "${ID:7:12}"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Untagged: 127.0.0.1:5000/x/y:2"* ]]
	[[ "$output" == *"Untagged: shoal/busybox:latest"* ]]
	[[ "$output" == *"Deleted: $ID"* ]]
	[ "$(layer_dirs)" -eq 0 ]
	# errors: reported, the others still done, exit 1 at the end
	shoal load -i "$IMG" >/dev/null
	run shoal rmi nosuch:1 shoal/busybox:latest
	[ "$status" -eq 1 ]
	[[ "$output" == *"Untagged: shoal/busybox:latest"* ]]
	[[ "$output" == *"Error response from daemon: "*"nosuch"* ]]
	run shoal rmi -f nosuch:1 # -f: a missing image is not fatal
	[ "$status" -eq 0 ]
	# bad names never reach the daemon
	run shoal tag "$ID" Bad/Name
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not a valid repository/tag"* ]]
	run shoal tag "$ID" x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	[ "$status" -eq 1 ]
	[ "$output" = "refusing to create a tag with a digest reference" ]
	run shoal tag nosuch:1 y:1
	[ "$status" -eq 1 ]
	[[ "$output" == "Error response from daemon: "*"nosuch"* ]]
}

@test "save -o, then load in a fresh daemon: same image id" {
	ida=$(mkimage "$W/a.tar" -t t/a:1)
	idb=$(mkimage "$W/b.tar" -t t/b:1 --variant b)
	shoal load -i "$IMG" >/dev/null
	shoal load -i "$W/a.tar" >/dev/null
	shoal load -i "$W/b.tar" >/dev/null
	run shoal save -o "$W/s.tar" shoal/busybox:latest
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	tar -xOf "$W/s.tar" manifest.json | jq -e '.[0].RepoTags == ["shoal/busybox:latest"]'
	shoal image save t/a:1 t/b:1 > "$W/two.tar"
	[ "$(tar -xOf "$W/two.tar" manifest.json | jq length)" -eq 2 ]
	# a failed save leaves no file
	run shoal save -o "$W/none.tar" nosuch:1
	[ "$status" -eq 1 ]
	[ ! -e "$W/none.tar" ]
	[ -z "$(find "$W" -maxdepth 1 -name '.shoal_temp_*')" ]

	stop_shoald
	mv "$W/data" "$W/data.first"
	start_shoald
	[ "$(layer_dirs)" -eq 0 ]
	run shoal load -i "$W/s.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: shoal/busybox:latest" ]
	[ "$(img_field shoal/busybox:latest '{{.Id}}')" = "$ID" ]
	[ "$(img_field shoal/busybox:latest '{{json .RootFS.Layers}}')" = "$DIFF_IDS" ]
	run shoal load -i "$W/two.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: t/a:1"* ]]
	[[ "$output" == *"Loaded image: t/b:1"* ]]
	[ "$(img_field t/a:1 '{{.Id}}')" = "$ida" ]
	[ "$(img_field t/b:1 '{{.Id}}')" = "$idb" ]
	[ "$(layer_dirs)" -eq 3 ]
	# and what shoal saved is what shoal saves again
	shoal save -o "$W/s2.tar" shoal/busybox:latest
	[ "$(archive_diff_ids "$W/s2.tar")" = "$DIFF_IDS" ]
}

@test "import a rootfs tar: a one-layer image" {
	mkimage "$W/x.tar" --layers "$W/l" >/dev/null
	mkdir "$W/rootfs"
	tar -xf "$W/l/layer1.tar" -C "$W/rootfs"
	tar -C "$W/rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$W/root.tar" .
	sum=$(sha256sum "$W/root.tar" | cut -d' ' -f1)
	run shoal import -m "made by a test" "$W/root.tar" imported:1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	[ "$(img_field imported:1 '{{.Id}}')" = "$id" ]
	[ "$(img_field imported:1 '{{json .RootFS.Layers}}')" = "[\"sha256:$sum\"]" ]
	[ "$(img_field imported:1 '{{.Comment}}')" = "made by a test" ]
	[ "$(img_field imported:1 '{{.Os}}')" = linux ]
	[ "$(layer_dirs)" -eq 1 ]
	# from stdin, compressed, untagged: <none> <none>, same layer
	gzip -n -c "$W/root.tar" > "$W/root.tar.gz"
	run bash -c "'$SHOAL_BIN' -H 'unix://$W/shoal.sock' image import - < '$W/root.tar.gz'"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id2=$output
	[ "$(img_field "$id2" '{{json .RootFS.Layers}}')" = "[\"sha256:$sum\"]" ]
	run shoal images --format '{{.Repository}} {{.Tag}} {{.ID}}'
	[[ "$output" == *"<none> <none> ${id2:7:12}"* ]]
	[ "$(layer_dirs)" -eq 1 ]
	run shoal import "$W/nosuch.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "open $W/nosuch.tar: no such file or directory" ]
}

@test "bad archives are refused with a clear error and leave nothing behind" {
	shoal load -i "$IMG" >/dev/null
	before=$(store_state)
	repack() { (cd "$W/x" && tar --sort=name -cf "$1" $(ls -A)); }

	# not a tar at all
	head -c 100000 /dev/urandom > "$W/junk"
	run shoal load -i "$W/junk"
	[ "$status" -eq 1 ]
	[ -n "$output" ]
	[ "$(store_state)" = "$before" ]
	# empty input
	run shoal load -i /dev/null
	[ "$status" -eq 1 ]
	[ "$(store_state)" = "$before" ]
	# truncated in the middle of the base layer (manifest.json comes last)
	mkimage "$W/new.tar" -t new/image:1 --variant new >/dev/null
	head -c 1000000 "$W/new.tar" > "$W/trunc.tar"
	run shoal load -i "$W/trunc.tar"
	[ "$status" -eq 1 ]
	[ -n "$output" ]
	[ "$(store_state)" = "$before" ]
	# the manifest names a layer the archive lacks (the new image's top)
	mkdir "$W/x"
	tar -xf "$W/new.tar" -C "$W/x"
	nl2=$(tar -xOf "$W/new.tar" manifest.json | jq -r '.[0].Layers[1]')
	rm -r "$W/x/${nl2%/layer.tar}"
	repack "$W/missing.tar"
	run shoal load -i "$W/missing.tar"
	[ "$status" -eq 1 ]
	[ -n "$output" ]
	[ "$(store_state)" = "$before" ]
	# a layer that is not the one the config's diff_ids name
	rm -r "$W/x"
	mkdir "$W/x"
	tar -xf "$W/new.tar" -C "$W/x"
	mkimage "$W/other.tar" --variant tampered --layers "$W/ol" >/dev/null
	cp "$W/ol/layer2.tar" "$W/x/$nl2"
	repack "$W/tampered.tar"
	run shoal load -i "$W/tampered.tar"
	[ "$status" -eq 1 ]
	[[ "${output,,}" == *digest* || "${output,,}" == *diff* ]]
	[ "$(store_state)" = "$before" ]
	run shoal image inspect new/image:1
	[ "$status" -eq 1 ]
	# the store still works
	run shoal load -i "$W/new.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: new/image:1" ]
	[ "$(layer_dirs)" -eq 3 ]
}

@test "pull from a registry (docker-registry, pushed with skopeo)" {
	registry_start
	registry_push "$IMG" test/busybox:latest
	digest=$(registry_digest test/busybox latest)
	[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]
	run shoal pull 127.0.0.1:$REGISTRY_PORT/test/busybox
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Using default tag: latest" ]
	[[ "$output" == *"latest: Pulling from test/busybox"* ]]
	[[ "$output" == *"Pull complete"* ]]
	[[ "$output" == *"Digest: $digest"* ]]
	[[ "$output" == *"Status: Downloaded newer image for 127.0.0.1:$REGISTRY_PORT/test/busybox:latest"* ]]
	[ "${lines[-1]}" = "127.0.0.1:$REGISTRY_PORT/test/busybox:latest" ]
	run shoal images --format '{{.Repository}} {{.Tag}} {{.ID}}'
	[ "$output" = "127.0.0.1:$REGISTRY_PORT/test/busybox latest ${ID:7:12}" ]
	run shoal image inspect 127.0.0.1:$REGISTRY_PORT/test/busybox:latest
	[ "$(echo "$output" | jq -r '.[0].Id')" = "$ID" ]
	[ "$(echo "$output" | jq -c '.[0].RootFS.Layers')" = "$DIFF_IDS" ]
	[ "$(echo "$output" | jq -r '.[0].RepoDigests[0]')" = "127.0.0.1:$REGISTRY_PORT/test/busybox@$digest" ]
	[ "$(layer_dirs)" -eq 2 ]
	# what load gives is the same image: no new layers
	shoal load -i "$IMG" >/dev/null
	[ "$(layer_dirs)" -eq 2 ]
	[ "$(shoal images -q | sort -u)" = "${ID:7:12}" ]
	# again: up to date
	run shoal pull 127.0.0.1:$REGISTRY_PORT/test/busybox:latest
	[ "$status" -eq 0 ]
	[[ "$output" == *"Status: Image is up to date for 127.0.0.1:$REGISTRY_PORT/test/busybox:latest"* ]]
	# by digest, quietly: only the reference
	run shoal image pull -q "127.0.0.1:$REGISTRY_PORT/test/busybox@$digest"
	[ "$status" -eq 0 ]
	[ "$output" = "127.0.0.1:$REGISTRY_PORT/test/busybox@$digest" ]
	run shoal images --digests --format '{{.Repository}} {{.Digest}}'
	[[ "$output" == *"127.0.0.1:$REGISTRY_PORT/test/busybox $digest"* ]]
	# a second image sharing the base: only its top layer comes down
	mkimage "$W/v.tar" --variant v >/dev/null
	registry_push "$W/v.tar" test/variant:1
	run shoal pull 127.0.0.1:$REGISTRY_PORT/test/variant:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Already exists"* ]]
	[ "$(layer_dirs)" -eq 3 ]
	# a tag the registry does not have
	before=$(store_state)
	run shoal pull 127.0.0.1:$REGISTRY_PORT/test/busybox:nosuch
	[ "$status" -eq 1 ]
	[ -n "$output" ]
	[ "$(store_state)" = "$before" ]
	run shoal pull 'not a name'
	[ "$status" -eq 1 ]
	[ "$output" = "invalid reference format" ]
}

@test "a tampered registry blob is rejected and nothing is left behind" {
	registry_start
	registry_push "$IMG" test/busybox:latest
	layer=$(registry_manifest test/busybox latest | jq -r '.layers[0].digest')
	f=$(registry_blob_file "$layer")
	[ -f "$f" ]
	flip_byte "$f" $(( $(stat -c %s "$f") / 2 ))
	before=$(store_state)
	run shoal pull 127.0.0.1:$REGISTRY_PORT/test/busybox:latest
	[ "$status" -eq 1 ]
	[[ "${output,,}" == *digest* ]]
	[ "$(store_state)" = "$before" ]
	[ "$(layer_dirs)" -eq 0 ]
	[ "$(blob_count)" -eq 0 ]
	run shoal image inspect 127.0.0.1:$REGISTRY_PORT/test/busybox:latest
	[ "$status" -eq 1 ]
}

@test "round trip with the Docker engine: shoal save -> docker load, docker save -> shoal load" {
	dockerd_start
	shoal load -i "$IMG" >/dev/null
	shoal save -o "$W/s.tar" shoal/busybox:latest
	run dk load -i "$W/s.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: shoal/busybox:latest"* ]]
	[ "$(dk images --no-trunc --format '{{.ID}}' shoal/busybox:latest)" = "$ID" ]
	[ "$(dk image inspect -f '{{json .RootFS.Layers}}' shoal/busybox:latest)" = "$DIFF_IDS" ]
	# the files docker sees: whiteouts and the opaque dir applied
	cid=$(dk create shoal/busybox:latest)
	dk export "$cid" | tar -t > "$W/files"
	grep -qx 'data/a' "$W/files"
	grep -qx 'data/c' "$W/files"
	grep -qx 'data/old/new' "$W/files"
	grep -qx 'bin/busybox' "$W/files"
	! grep -qx 'data/b' "$W/files" || false
	! grep -qx 'data/old/x' "$W/files" || false
	! grep -q '\.wh\.' "$W/files" || false
	# and back: what docker saves, shoal loads as the same image
	dk tag shoal/busybox:latest from/docker:1
	dk save -o "$W/d.tar" from/docker:1
	shoal rmi shoal/busybox:latest >/dev/null
	[ "$(layer_dirs)" -eq 0 ]
	run shoal load -i "$W/d.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: from/docker:1" ]
	[ "$(img_field from/docker:1 '{{.Id}}')" = "$ID" ]
	[ "$(img_field from/docker:1 '{{json .RootFS.Layers}}')" = "$DIFF_IDS" ]
	dockerd_stop
}
