/* SPDX-License-Identifier: Apache-2.0 */
/* names.h - names of enum values shown to users (API, CLI, metrics). */
#ifndef SHOAL_NAMES_H
#define SHOAL_NAMES_H

#include "../../include/shoal_maps.h"

/* "no_endpoint", "not_allowed", ... indexed by enum shoal_drop_reason. */
extern const char *const shoal_drop_names[SHOAL_DROP_MAX];

#define SHOAL_VERSION "0.1.0"
#define SHOAL_API_VERSION "1.41"
#define SHOAL_MIN_API_VERSION "1.12"

#endif
