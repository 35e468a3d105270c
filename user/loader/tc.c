// SPDX-License-Identifier: Apache-2.0
/*
 * tc.c - attach the programs on clsact hooks.
 *
 * Our filter always sits at handle 1, priority 1, and is attached with
 * BPF_TC_F_REPLACE: a restarted shoald swaps its freshly loaded program in
 * atomically (no window without a filter), and attaching twice is not an
 * error. The clsact qdisc is created if missing and never destroyed here:
 * it may predate us or hold other filters, and a veth's qdisc goes away
 * with the veth anyway.
 */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/util.h"
#include "loader.h"
#include "shoal.skel.h"

#define SHOAL_TC_HANDLE 1
#define SHOAL_TC_PRIO 1

static const char *hook_name(enum bpf_tc_attach_point p)
{
	return p == BPF_TC_INGRESS ? "ingress" : "egress";
}

static int tc_attach(int ifindex, enum bpf_tc_attach_point point, struct bpf_program *prog,
		     struct shoal_err *err)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHOAL_TC_HANDLE, .priority = SHOAL_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE, .prog_fd = bpf_program__fd(prog));
	char name[IF_NAMESIZE] = "?";
	int rc;

	if_indextoname((unsigned int)ifindex, name);
	rc = bpf_tc_hook_create(&hook);
	if (rc < 0 && rc != -EEXIST)
		return err_set(err, rc, "create clsact on %s (ifindex %d): %s", name, ifindex,
			       strerror(-rc));
	rc = bpf_tc_attach(&hook, &opts);
	if (rc < 0)
		return err_set(err, rc, "attach %s on %s of %s (ifindex %d): %s",
			       bpf_program__name(prog), hook_name(point), name, ifindex,
			       strerror(-rc));
	return 0;
}

/* 1 if a filter sits at our handle/priority on that hook, 0 if not. */
static int tc_present(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHOAL_TC_HANDLE, .priority = SHOAL_TC_PRIO);
	int rc = bpf_tc_query(&hook, &opts);

	if (rc == 0)
		return 1;
	/* No filter: -ENOENT; no clsact qdisc at all: -EINVAL. */
	if (rc == -ENOENT || rc == -EINVAL)
		return 0;
	return rc;
}

int loader_attach_endpoint(struct loader *l, int ifindex, struct shoal_err *err)
{
	int rc;

	if (!l || !l->skel)
		return err_set(err, EBADF, "BPF loader is not open");
	rc = tc_attach(ifindex, BPF_TC_INGRESS, l->skel->progs.from_container, err);
	if (rc == 0)
		rc = tc_attach(ifindex, BPF_TC_EGRESS, l->skel->progs.to_container, err);
	return rc;
}

int loader_endpoint_attached(struct loader *l, int ifindex)
{
	int in, eg;

	(void)l; /* the filters outlive any skeleton: no need for one */
	in = tc_present(ifindex, BPF_TC_INGRESS);
	if (in <= 0)
		return in;
	eg = tc_present(ifindex, BPF_TC_EGRESS);
	return eg;
}

int loader_attach_underlay(struct loader *l, int ifindex, struct shoal_err *err)
{
	if (!l || !l->skel)
		return err_set(err, EBADF, "BPF loader is not open");
	return tc_attach(ifindex, BPF_TC_INGRESS, l->skel->progs.from_underlay, err);
}

/* Is the program with this id called name? (kernel names are cut at 15) */
static int prog_is(__u32 id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	_cleanup_close_ int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return strncmp(info.name, name, sizeof(info.name) - 1) == 0;
}

/*
 * Detach the ingress filter at shoal's handle/prio of ifindex if it runs
 * program prog: handle 1/prio 1 is also where an endpoint's
 * from_container sits. Not there (or no clsact at all): 0; else the error.
 */
static int tc_detach_ingress(int ifindex, const char *prog)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = SHOAL_TC_HANDLE, .priority = SHOAL_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHOAL_TC_HANDLE, .priority = SHOAL_TC_PRIO);
	int rc;

	rc = bpf_tc_query(&hook, &q);
	if (rc == -ENOENT || rc == -EINVAL || (rc == 0 && !prog_is(q.prog_id, prog)))
		return 0;
	rc = bpf_tc_detach(&hook, &opts);
	/* Already gone (or no clsact at all): nothing to do. */
	return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
}

int loader_detach_underlay(struct loader *l, int ifindex, struct shoal_err *err)
{
	char name[IF_NAMESIZE] = "?";
	int rc;

	(void)l;
	rc = tc_detach_ingress(ifindex, "from_underlay");
	if (rc == 0)
		return 0;
	if_indextoname((unsigned int)ifindex, name);
	return err_set(err, rc, "detach from_underlay from ingress of %s (ifindex %d): %s", name,
		       ifindex, strerror(-rc));
}

int loader_attach_external(struct loader *l, int ifindex, struct shoal_err *err)
{
	if (!l || !l->skel)
		return err_set(err, EBADF, "BPF loader is not open");
	return tc_attach(ifindex, BPF_TC_INGRESS, l->skel->progs.from_external, err);
}

int loader_detach_external(struct loader *l, int ifindex, struct shoal_err *err)
{
	int rc;

	(void)l;
	rc = tc_detach_ingress(ifindex, "from_external");
	if (rc == 0)
		return 0;
	return err_set(err, rc, "detach from_external from ingress of ifindex %d: %s", ifindex,
		       strerror(-rc));
}
