/* test_sv.c - --sv's matchers on what daemons send, for the daemons the
 * lab cannot start (tests/integration/daemons.py has the others): the
 * mislabels the field run found stay fixed. */
#include <stdlib.h>

#include "unit.h"
#include "scan/scan.h"

static void expect(const struct sv_db *db, const char *probe, const void *reply, size_t len,
		   const char *svc, const char *product, const char *version, int line)
{
	struct sv_name r;

	memset(&r, 0, sizeof(r));
	if (!sv_classify(db, sv_db_find(db, probe), reply, len, &r)) {
		unit_fail(__FILE__, line, "no match for %s reply", probe);
		return;
	}
	if (strcmp(r.svc, svc) || strcmp(r.product, product) || strcmp(r.version, version))
		unit_fail(__FILE__, line, "got %s / %s / %s, expected %s / %s / %s", r.svc, r.product,
			  r.version, svc, product, version);
}

#define EXPECT(db, probe, text, svc, product, version) \
	expect(db, probe, text, sizeof(text) - 1, svc, product, version, __LINE__)

TEST(sv_banners_name_the_daemon)
{
	struct sv_db *db;

	CHECK_INT(sv_db_load(&db), 0);
	/* a host name that starts with "ftp." is still a mail server */
	EXPECT(db, "null", "220 ftp.example.test ESMTP Postfix (Debian/GNU)\r\n", "smtp",
	       "Postfix", "");
	EXPECT(db, "null", "220 mx.example.test ESMTP Exim 4.96 Sun, 29 Nov 2026 07:00:00 +0000\r\n",
	       "smtp", "Exim", "4.96");
	/* the version, not the protocol */
	EXPECT(db, "null", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "ssh", "OpenSSH", "9.2p1");
	EXPECT(db, "null", "SSH-2.0-dropbear_2022.83\r\n", "ssh", "Dropbear", "2022.83");
	/* FTP products whole */
	EXPECT(db, "null", "220 (vsFTPd 3.0.3)\r\n", "ftp", "vsftpd", "3.0.3");
	EXPECT(db, "null", "220 ProFTPD 1.3.8 Server (Debian) [::ffff:198.18.0.2]\r\n", "ftp",
	       "ProFTPD", "1.3.8");
	EXPECT(db, "null", "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n",
	       "ftp", "Pure-FTPd", "");
	EXPECT(db, "null", "* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.\r\n", "imap",
	       "Dovecot", "");
	EXPECT(db, "http", "HTTP/1.1 200 OK\r\nDate: x\r\nServer: Apache/2.4.57 (Debian)\r\n\r\n",
	       "http", "Apache httpd", "2.4.57");
	EXPECT(db, "memcached", "VERSION 1.6.18\r\n", "memcached", "memcached", "1.6.18");
	sv_db_free(db);
}

TEST(sv_mysql_handshakes)
{
	/* protocol 10 handshakes: length, sequence, 0x0a, the version string */
	static const char mariadb[] = "\x5b\x00\x00\x00\x0a" "5.5.5-10.11.6-MariaDB-0+deb12u1\0rest";
	static const char mysql[] = "\x4a\x00\x00\x00\x0a" "8.0.36\0rest";
	struct sv_db *db;

	CHECK_INT(sv_db_load(&db), 0);
	/* MariaDB's own version, not its "5.5.5-" compatibility prefix */
	expect(db, "null", mariadb, sizeof(mariadb) - 1, "mysql", "MariaDB", "10.11.6", __LINE__);
	expect(db, "null", mysql, sizeof(mysql) - 1, "mysql", "MySQL", "8.0.36", __LINE__);
	sv_db_free(db);
}

TEST(sv_udp_answers)
{
	/* a version.bind answer: header, the question, one TXT answer */
	static const uint8_t bind[] = {
		0x70, 0x6b, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,
		7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0, 0, 16, 0, 3,
		0xc0, 0x0c, 0, 16, 0, 3, 0, 0, 0, 0, 0, 25, 24,
		'9', '.', '1', '8', '.', '4', '9', '-', '1', '~', 'd', 'e', 'b', '1', '2', 'u', '3',
		'-', 'D', 'e', 'b', 'i', 'a', 'n',
	};
	uint8_t ntp[48] = { 0x24, 2 };
	struct result r;

	memset(&r, 0, sizeof(r));
	CHECK(udp_identify(bind, sizeof(bind), &r));
	CHECK_STR(r.svc, "domain");
	CHECK_STR(r.product, "ISC BIND");
	CHECK_STR(r.version, "9.18.49");
	memset(&r, 0, sizeof(r));
	CHECK(udp_identify(ntp, sizeof(ntp), &r));
	CHECK_STR(r.svc, "ntp");
	CHECK_STR(r.version, "v4");
	memset(&r, 0, sizeof(r));
	CHECK(!udp_identify(bind, 11, &r));	/* cut short: nothing claimed */
}
