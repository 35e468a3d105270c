/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit.h - shared by the C unit-test suites linked into build/shoal-test-unit.
 * Each suite file exposes one unit_<suite>_tests() that RUN()s its tests;
 * main.c owns the TAP state and calls the suites in order.
 */
#ifndef SHOAL_UNIT_H
#define SHOAL_UNIT_H

#define TAP_EXTERN_STATE
#include "../tap.h"

#include <stdint.h>

void unit_config_tests(void);
void unit_ipam_tests(void);
void unit_state_tests(void);
void unit_image_tests(void);
void unit_keyring_tests(void);
void unit_gossip_tests(void);
void unit_kv_tests(void);
void unit_volume_tests(void);
void unit_files_tests(void);

/* A fresh directory under /tmp (mkdtemp); 0 or -errno. */
int unit_tmpdir(char path[64]);
/* rm -rf path. */
void unit_rmrf(const char *path);
/* Write a whole file; 0 or -errno. */
int unit_write_file(const char *path, const char *text);
/* "a.b.c.d" -> NBO; aborts the binary on a typo in a test. */
uint32_t unit_ip(const char *s);

#endif
