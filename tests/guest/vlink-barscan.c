/* vlink-barscan: which byte strings a pci-vlink device's BAR2 holds, for
 * the guest isolation test (statically linked into the guest initramfs;
 * not installed).  See --help.
 *
 * A memory BAR's sysfs resource file can only be mmap()ed (read() on it
 * fails), so the whole BAR is mapped read-only and searched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW_MAX 8 /* offsets printed per string */

static const char usage[] =
	"Usage: vlink-barscan DEVICE_DIR STRING...\n"
	"Enable the PCI device at DEVICE_DIR (/sys/bus/pci/devices/ADDR), map its\n"
	"whole BAR2 (resource2) read-only and search it for each STRING.\n"
	"Prints, per STRING: 'STRING: N match(es)' and the BAR offsets of the first\n"
	"few; then 'scanned SIZE bytes of DEVICE_DIR/resource2'.\n"
	"Exit status: 0 scanned, 1 the BAR could not be mapped, 2 usage error.\n";

/* Writing 1 to `enable` turns memory decoding on (no driver does it in
 * the guest); a device already enabled may refuse, which is fine. */
static void enable(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/enable", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0 && errno != EBUSY)
		fprintf(stderr, "vlink-barscan: %s: %s (going on)\n", path, strerror(errno));
	close(fd);
}

static void search(const unsigned char *bar, size_t size, const char *s)
{
	size_t n = strlen(s), count = 0, shown = 0, off = 0;
	size_t at[SHOW_MAX];

	while (off + n <= size) {
		const unsigned char *p = memmem(bar + off, size - off, s, n);

		if (!p)
			break;
		if (shown < SHOW_MAX)
			at[shown++] = (size_t)(p - bar);
		count++;
		off = (size_t)(p - bar) + 1;
	}
	printf("%s: %zu match(es)", s, count);
	for (size_t i = 0; i < shown; i++)
		printf("%s0x%zx", i ? ", " : " at ", at[i]);
	printf("%s\n", count > shown ? ", ..." : "");
}

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;
	void *bar;
	int fd;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3 || argv[1][0] == '-') {
		fprintf(stderr, "vlink-barscan: wants DEVICE_DIR and at least one STRING\n"
			"Try 'vlink-barscan --help'.\n");
		return 2;
	}
	enable(argv[1]);
	snprintf(path, sizeof(path), "%s/resource2", argv[1]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vlink-barscan: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) || st.st_size <= 0) {
		fprintf(stderr, "vlink-barscan: %s: no size\n", path);
		close(fd);
		return 1;
	}
	bar = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (bar == MAP_FAILED) {
		fprintf(stderr, "vlink-barscan: cannot map %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (int i = 2; i < argc; i++)
		search(bar, (size_t)st.st_size, argv[i]);
	printf("scanned %lld bytes of %s\n", (long long)st.st_size, path);
	munmap(bar, (size_t)st.st_size);
	return 0;
}
