/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tap.h - a tiny TAP producer for the C test binaries. tests/run-all.sh
 * reads the TAP of every suite (C, BPF, bats) and prints the one summary
 * line "N passed, N failed, N skipped".
 *
 *   TEST(name) { ...; CHECK(cond, "what"); CHECK_EQ(a, b, "what"); }
 *   int main(void) { RUN(name); ...; return tap_done(); }
 *
 * A test fails when any CHECK in it fails; SKIP("reason") marks it
 * skipped and returns.
 */
#ifndef SHOAL_TAP_H
#define SHOAL_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct tap_state {
	int n, failed_tests, cur_failed, cur_skipped;
	char skip_reason[256];
};
/*
 * One binary built from several files (tests/unit) defines
 * TAP_EXTERN_STATE before including this header everywhere and defines
 * `struct tap_state tap;` in exactly one file. Single-file suites need
 * nothing.
 */
#ifdef TAP_EXTERN_STATE
extern struct tap_state tap;
#else
static struct tap_state tap;
#endif

#define TEST(name) static void test_##name(void)

#define CHECK(cond, what)                                                       \
	do {                                                                    \
		if (!(cond)) {                                                  \
			tap.cur_failed++;                                       \
			printf("#   FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__,     \
			       what, #cond);                                    \
		}                                                               \
	} while (0)

#define CHECK_EQ(a, b, what)                                                    \
	do {                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);             \
		if (_a != _b) {                                                 \
			tap.cur_failed++;                                       \
			printf("#   FAIL %s:%d: %s: %s = %lld, expected %lld\n",    \
			       __FILE__, __LINE__, what, #a, _a, _b);           \
		}                                                               \
	} while (0)

#define CHECK_MEM(a, b, len, what)                                              \
	do {                                                                    \
		if (memcmp((a), (b), (len)) != 0) {                             \
			tap.cur_failed++;                                       \
			printf("#   FAIL %s:%d: %s: bytes differ\n", __FILE__,      \
			       __LINE__, what);                                 \
			tap_hexdiff((const unsigned char *)(a),                 \
				    (const unsigned char *)(b), (len));         \
		}                                                               \
	} while (0)

#define SKIP(reason)                                                            \
	do {                                                                    \
		tap.cur_skipped = 1;                                            \
		snprintf(tap.skip_reason, sizeof(tap.skip_reason), "%s", reason); \
		return;                                                         \
	} while (0)

static inline void tap_hexdiff(const unsigned char *a, const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			printf("#     offset %zu: got 0x%02x, expected 0x%02x\n", i, a[i], b[i]);
}

static inline void tap_run(const char *name, void (*fn)(void))
{
	tap.cur_failed = 0;
	tap.cur_skipped = 0;
	tap.n++;
	fflush(stdout);
	fn();
	if (tap.cur_skipped)
		printf("ok %d - %s # skip %s\n", tap.n, name, tap.skip_reason);
	else if (tap.cur_failed) {
		tap.failed_tests++;
		printf("not ok %d - %s\n", tap.n, name);
	} else
		printf("ok %d - %s\n", tap.n, name);
	fflush(stdout);
}

#define RUN(name) tap_run(#name, test_##name)

static inline int tap_done(void)
{
	printf("1..%d\n", tap.n);
	return tap.failed_tests ? 1 : 0;
}

#endif
