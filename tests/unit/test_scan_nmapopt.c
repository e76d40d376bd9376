/* test_scan_nmapopt.c - nmap's spellings rewritten into scan's options,
 * target files, -6 and --exclude (src/scan/nmapopt.c, targets.c), without
 * a scan. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/log.h"
#include "scan/scan.h"

/* argv (NULL-ended) rewritten, joined by blanks; NULL when refused */
static const char *rewritten(const char *const *in)
{
	static char out[512];
	char *argv[16], **v;
	int n = 0, m;
	size_t k = 0;

	while (in[n])
		argv[n] = (char *)in[n], n++;
	if (!(v = scan_nmap_argv(n, argv, &m)))
		return NULL;
	out[0] = '\0';
	for (int i = 0; i < m; i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s", i ? " " : "", v[i]);
	CHECK(v[m] == NULL);
	free(v);
	return out;
}

#define REWRITES(want, ...) do {						\
	const char *const in_[] = { "scan", __VA_ARGS__, NULL };		\
	const char *got_ = rewritten(in_);					\
	CHECK(got_ != NULL);							\
	if (got_)								\
		CHECK_STR(got_, want);						\
} while (0)

#define REFUSED(msg, ...) do {							\
	const char *const in_[] = { "scan", __VA_ARGS__, NULL };		\
	CHECK(rewritten(in_) == NULL);						\
	CHECK(strstr(error_msg(), msg) != NULL);				\
} while (0)

TEST(scan_nmap_spellings)
{
	REWRITES("scan --method=syn --sv x", "-sSV", "x");
	REWRITES("scan --sv --method=connect x", "-sVT", "x");
	REWRITES("scan --method=udp", "-sU");
	REWRITES("scan --discover --no-ping x", "-sn", "-Pn", "x");
	REWRITES("scan --discover", "-sP");
	REWRITES("scan --list -6", "-sL", "-6");
	/* a value after -oX is not rewritten, even when it looks like nmap's */
	REWRITES("scan --xml -sS --grepable - --normal n --all-formats b --targets-from -",
		 "-oX", "-sS", "-oG", "-", "-oN", "n", "-oA", "b", "-iL", "-");
	/* portkit's own: -s and a word, -p-, and everything after -- */
	REWRITES("scan -ssyn -sudp -s connect -p- -- -sS", "-ssyn", "-sudp", "-s", "connect",
		 "-p-", "--", "-sS");
	REFUSED("-sC (scripts) is not portkit's", "-sCV");
	REFUSED("nmap's -sA (ACK scan)", "-sA");
	REFUSED("one method per scan", "-sSU");
	REFUSED("-sQ is not a scan type", "-sQ");
	REFUSED("-oS (script kiddie output)", "-oS", "f");
	REFUSED("-iR (random targets)", "-iR", "5");
	REFUSED("discovery probes", "-PS443");
}

/* A target file: words on lines, comments, errors at FILE line N. */
TEST(scan_target_files)
{
	char path[] = "/tmp/pk-nmapopt-XXXXXX";
	int fd = mkstemp(path);
	struct scan_opts o = { .targets_from = path };
	struct target_list t = { 0 };
	char *specs[] = { (char *)"198.18.0.9" };
	char a[ADDR_STRLEN];
	static const char text[] = "# lab\n198.18.0.1 198.18.0.2-3\n\n\t198.18.0.0/31 # two\n"
				   "198.18.0.1\n";

	CHECK(fd >= 0);
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	o.exclude = "198.18.0.2-3";
	CHECK_INT(scan_targets(&o, &t, 1, specs), 0);
	CHECK_INT(t.n, 3);	/* the file's, then the line's, each once, less .2-.3 */
	if (t.n == 3) {
		CHECK_STR(target_text(&t.v[0], a), "198.18.0.1");
		CHECK_STR(target_text(&t.v[1], a), "198.18.0.0");
		CHECK_STR(target_text(&t.v[2], a), "198.18.0.9");
	}
	targets_free(&t);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "198.18.0.1\n\n198.18.0.0/40\n", 26) == 26);
	close(fd);
	CHECK(scan_targets(&o, &t, 0, NULL) < 0);
	CHECK(strstr(error_msg(), "line 3: invalid CIDR '198.18.0.0/40'") != NULL);
	targets_free(&t);
	unlink(path);
}

TEST(scan_ipv6_only)
{
	struct target_list t = { 0 };

	CHECK_INT(targets_add(&t, "2001:db8::1"), 0);
	CHECK_INT(targets_only_ipv6(&t, 0, "2001:db8::1"), 0);
	CHECK_INT(t.n, 1);
	CHECK_INT(targets_add(&t, "198.18.0.1"), 0);
	CHECK(targets_only_ipv6(&t, 1, "198.18.0.1") < 0);
	CHECK(strstr(error_msg(), "'198.18.0.1' is IPv4; -6 scans IPv6 targets only") != NULL);
	/* a name's IPv4 addresses are dropped; none left is an error */
	t.n = 1;
	CHECK_INT(targets_add(&t, "198.18.0.2"), 0);
	snprintf(t.v[1].name, sizeof(t.v[1].name), "v4.example");
	CHECK(targets_only_ipv6(&t, 1, "v4.example") < 0);
	CHECK(strstr(error_msg(), "no IPv6 address") != NULL);
	CHECK_INT(t.n, 1);
	targets_free(&t);
}

TEST(scan_formats_base)
{
	struct scan_opts o = { 0 };

	CHECK_INT(scan_formats(&o, "run"), 0);
	CHECK_STR(o.xml, "run.xml");
	CHECK_STR(o.grepable, "run.gnmap");
	CHECK_STR(o.normal, "run.nmap");
	CHECK(scan_formats(&o, "-") < 0);
	for (int i = 0; i < 3; i++)
		free(o.formats[i]);
}
