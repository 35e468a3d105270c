/* SPDX-License-Identifier: Apache-2.0 */
/* shoal-shim - placeholder until the runtime lands (see include/shoal_shim.h). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "shoal-shim: not built yet\n");
	return 125;
}
