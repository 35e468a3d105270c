static void loader_suite_cleanup(void) {}
static void loader_suite(void) {}
