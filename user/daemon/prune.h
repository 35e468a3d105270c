/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prune.h - POST /containers/prune, /networks/prune and /images/prune:
 * Docker's prune endpoints (v1.41 bodies), behind `shoal container|
 * network|image|system prune`. Each removes through the same function
 * as the one-object removal (ctr_remove, net_remove, image_remove), so
 * the rules and side effects are the same; an object that cannot go is
 * skipped and logged, as Docker does.
 */
#ifndef SHOAL_DAEMON_PRUNE_H
#define SHOAL_DAEMON_PRUNE_H

#include <jansson.h>

#include "../common/err.h"

struct daemon;

/* Stopped containers; filters until, label, label!.
 * {"ContainersDeleted": [id...], "SpaceReclaimed": bytes}. Takes d->lock. */
int prune_containers(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err);
/* Networks no container uses; filters until, label, label!.
 * {"NetworksDeleted": [name...]}. Takes d->lock. */
int prune_networks(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err);
/* Dangling images, or with dangling=false every image no container
 * uses; filters dangling, until, label, label!.
 * {"ImagesDeleted": [{"Untagged"|"Deleted": ...}...], "SpaceReclaimed": bytes}. */
int prune_images(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err);

#endif
