/* plugin-load PLUGIN...: dlopen() each DPDK plugin as EAL does (RTLD_NOW,
 * no RTLD_GLOBAL) from a program that links no DPDK library at all, so
 * that every symbol a plugin uses must come from its own NEEDED entries.
 * Exit 0 if every one loads; otherwise print dlerror() and exit 1. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: plugin-load PLUGIN...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);

		if (!h) {
			fprintf(stderr, "plugin-load: %s\n", dlerror());
			bad = 1;
			continue;
		}
		printf("plugin-load: %s: loaded, every symbol resolved\n", argv[i]);
		/* not dlclose()d: a DPDK driver's destructors expect EAL */
	}
	return bad;
}
