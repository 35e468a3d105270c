/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup1.h - cgroup v1 hierarchies on hybrid hosts: a controller the
 * cgroup2 tree lacks (memory, cpu, cpuacct, pids mounted as v1) is used
 * in its v1 hierarchy at the same path relative to the mount as the
 * container's cgroup2 directory (Docker does the same on v1 hosts).
 */
#ifndef SHOAL_CGROUP1_H
#define SHOAL_CGROUP1_H

#include <stddef.h>

/* The mount point of the v1 hierarchy whose super options name ctrl
 * (/proc/self/mountinfo, fstype "cgroup"): 0, or -ENOENT. */
int cg1_mount(const char *ctrl, char *buf, size_t len);

/* <ctrl's v1 mount><rel> ("/shoal/<id>"): 0 if that directory exists,
 * -ENOENT (buf still filled when the hierarchy exists) otherwise. */
int cg1_dir(const char *ctrl, const char *rel, char *buf, size_t len);

#endif
