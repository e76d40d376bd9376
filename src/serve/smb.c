/*
 * smb.c - the SMB responder: NEGOTIATE (MS-SMB2 2.2.3/2.2.4; MS-CIFS
 * 2.2.4.52 for an SMB1 client), then SESSION_SETUP (MS-SMB2 2.2.5/2.2.6)
 * carrying NTLMSSP (MS-NLMP) inside SPNEGO (RFC 4178, MS-SPNG), refused
 * as a server with no account and no guest refuses every logon: the
 * client's NTLMSSP NEGOTIATE gets STATUS_MORE_PROCESSING_REQUIRED and a
 * CHALLENGE (so it sees the server's names, as from any SMB server), its
 * AUTHENTICATE STATUS_LOGON_FAILURE, anonymous or not. A client may try
 * three times; any other command is refused (STATUS_USER_SESSION_DELETED:
 * there is no session); an SMB1-only client is closed after NEGOTIATE.
 *
 * Client bytes are read by the NetBIOS length, the SMB2 header's and the
 * security buffer's offsets, and SPNEGO's DER lengths, each checked
 * against what is left; a DER element in high-tag or indefinite-length
 * form, or one longer than 16 MiB, ends the read. Answers are built in a
 * stack buffer, DER back to front (each element's contents first, its
 * header in front), so no length is written before it is known.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "serve/wire.h"
#include "core/base/banned.h"

enum { SMB_NEG, SMB_SETUP, SMB_AUTH, SMB1_DONE };	/* c->state */

enum {
	CMD_NEGOTIATE = 0, CMD_SESSION_SETUP = 1, CMD_ECHO = 13,
	STATUS_MORE_PROCESSING = 0xc0000016, STATUS_LOGON_FAILURE = 0xc000006d,
	STATUS_SESSION_DELETED = 0xc0000203,
};

#define SESSION_ID 0x0000100000000001ULL	/* one connection, one (refused) session */

/* DER of the two OIDs SPNEGO talks of: itself (1.3.6.1.5.5.2) and NTLMSSP
 * (1.3.6.1.4.1.311.2.2.10), tag and length included */
static const uint8_t OID_SPNEGO[] = { 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static const uint8_t OID_NTLMSSP[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
				       0x02, 0x02, 0x0a };

/* ---- DER in: one element at a time ---- */

/* The element at r: its tag and its contents as a reader of their own */
static bool der_get(struct rd *r, uint8_t *tag, struct rd *in)
{
	size_t len;
	uint8_t first;
	const uint8_t *v;

	*tag = rd_u8(r);
	first = rd_u8(r);
	if (r->bad || (*tag & 0x1f) == 0x1f)	/* high tag numbers: not in SPNEGO */
		return false;
	len = first;
	if (first & 0x80) {
		unsigned k = first & 0x7f;

		if (!k || k > 3)		/* indefinite (not DER), or over 16 MiB */
			return false;
		len = 0;
		while (k--)
			len = len << 8 | rd_u8(r);
	}
	if (!(v = rd_bytes(r, len)))
		return false;
	*in = rd_at(v, len, 0);
	return true;
}

/* The contents of the element tagged `want` among a SEQUENCE's elements */
static bool der_field(struct rd seq, uint8_t want, struct rd *in)
{
	uint8_t tag;

	while (rd_left(&seq))
		if (!der_get(&seq, &tag, in))
			return false;
		else if (tag == want)
			return true;
	return false;
}

const uint8_t *smb_security_token(const uint8_t *p, size_t n, size_t *len)
{
	struct rd r = rd_at(p, n, 0), in, seq, tok;
	uint8_t tag;

	if (n >= 8 && !memcmp(p, "NTLMSSP", 8))
		goto raw;
	if (!der_get(&r, &tag, &in))
		return NULL;
	if (tag == 0x60) {
		/* [APPLICATION 0] { spnego OID, [0] NegTokenInit SEQUENCE { ..., [2] mechToken } } */
		const uint8_t *oid = rd_bytes(&in, sizeof(OID_SPNEGO));

		if (!oid || memcmp(oid, OID_SPNEGO, sizeof(OID_SPNEGO)) || !der_get(&in, &tag, &r) ||
		    tag != 0xa0)
			return NULL;
	} else if (tag != 0xa1) {	/* [1] NegTokenResp SEQUENCE { ..., [2] responseToken } */
		return NULL;
	} else {
		r = in;
	}
	if (!der_get(&r, &tag, &seq) || tag != 0x30 || !der_field(seq, 0xa2, &in) ||
	    !der_get(&in, &tag, &tok) || tag != 0x04)
		return NULL;
	p = tok.p;
	n = tok.len;
raw:
	if (n < 12 || memcmp(p, "NTLMSSP", 8))
		return NULL;
	*len = n;
	return p;
}

/* ---- DER out: back to front ---- */

struct der_out {
	uint8_t *p;
	size_t at;		/* the first byte written; writing goes down */
	bool full;
};

static void pre_bytes(struct der_out *d, const void *s, size_t n)
{
	if (d->full || n > d->at) {
		d->full = true;
		return;
	}
	d->at -= n;
	memcpy(d->p + d->at, s, n);
}

/* The header of an element whose contents are what was written since
 * `end` (the value of d->at then) */
static void pre_tag(struct der_out *d, uint8_t tag, size_t end)
{
	size_t len = end - d->at;
	uint8_t h[4] = { tag };
	size_t k = 1;

	if (len >= 256) {
		h[k++] = 0x82;
		h[k++] = (uint8_t)(len >> 8);
	} else if (len >= 128) {
		h[k++] = 0x81;
	}
	h[k++] = (uint8_t)len;
	pre_bytes(d, h, k);
}

/* ---- NTLMSSP CHALLENGE (MS-NLMP 2.2.1.2) ---- */

enum {
	NTLM_UNICODE = 0x1, NTLM_REQUEST_TARGET = 0x4, NTLM_SIGN = 0x10, NTLM_SEAL = 0x20,
	NTLM_NTLM = 0x200, NTLM_ALWAYS_SIGN = 0x8000, NTLM_TARGET_SERVER = 0x20000,
	NTLM_ESS = 0x80000, NTLM_TARGET_INFO = 0x800000, NTLM_128 = 0x20000000,
	NTLM_KEY_EXCH = 0x40000000, NTLM_56 = 0x80000000,
};

static uint64_t filetime_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return ((uint64_t)now.tv_sec + 11644473600ULL) * 10000000ULL + (uint64_t)now.tv_nsec / 100;
}

/* An ASCII name as UTF-16LE, at most 63 characters; NetBIOS style (upper
 * case, up to the first dot, 15 characters) when nb */
static size_t utf16(uint8_t *out, const char *s, bool nb)
{
	size_t k = 0;

	for (size_t i = 0; s[i] && i < (nb ? 15 : 63) && !(nb && s[i] == '.'); i++) {
		char ch = s[i];

		out[k++] = (uint8_t)(nb && ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
		out[k++] = 0;
	}
	return k;
}

/* One AV_PAIR of the target info (MS-NLMP 2.2.2.1) */
static size_t av_pair(uint8_t *p, uint16_t id, const uint8_t *v, size_t n)
{
	put_le16(p, id);
	put_le16(p + 2, (uint16_t)n);
	if (n)
		memcpy(p + 4, v, n);
	return 4 + n;
}

/* The CHALLENGE to a NEGOTIATE with these flags, into m (NTLM_MAX bytes):
 * the server's names (its --hostname) in the target info; the challenge
 * is random though nothing will ever be checked against it */
#define NTLM_MAX (56 + 30 + 4 + 30 + 4 + 30 + 2 * (4 + 126) + 4 + 8 + 4)

static size_t ntlm_challenge(const struct conn *c, uint32_t asked, uint8_t *m)
{
	const char *host = c->o && c->o->hostname ? c->o->hostname : "portkit";
	uint8_t nb[30], dns[126], ts[8];
	size_t nbn = utf16(nb, host, true), dnsn = utf16(dns, host, false), k = 56, info;
	uint32_t flags = (asked & (NTLM_UNICODE | NTLM_SIGN | NTLM_SEAL | NTLM_ALWAYS_SIGN |
				   NTLM_ESS | NTLM_128 | NTLM_KEY_EXCH | NTLM_56)) |
			 NTLM_UNICODE | NTLM_REQUEST_TARGET | NTLM_NTLM | NTLM_TARGET_SERVER |
			 NTLM_TARGET_INFO;

	memset(m, 0, 56);
	memcpy(m, "NTLMSSP", 8);
	put_le32(m + 8, 2);
	put_le16(m + 12, (uint16_t)nbn);		/* TargetName: the server */
	put_le16(m + 14, (uint16_t)nbn);
	put_le32(m + 16, 56);
	put_le32(m + 20, flags);
	if (getrandom(m + 24, 8, GRND_NONBLOCK) != 8)
		put_le64(m + 24, filetime_now());
	memcpy(m + k, nb, nbn);
	k += nbn;
	info = k;
	put_le64(ts, filetime_now());
	k += av_pair(m + k, 2, nb, nbn);		/* MsvAvNbDomainName: its own */
	k += av_pair(m + k, 1, nb, nbn);		/* MsvAvNbComputerName */
	k += av_pair(m + k, 4, dns, dnsn);		/* MsvAvDnsDomainName */
	k += av_pair(m + k, 3, dns, dnsn);		/* MsvAvDnsComputerName */
	k += av_pair(m + k, 7, ts, 8);			/* MsvAvTimestamp */
	k += av_pair(m + k, 0, NULL, 0);		/* MsvAvEOL */
	put_le16(m + 40, (uint16_t)(k - info));
	put_le16(m + 42, (uint16_t)(k - info));
	put_le32(m + 44, (uint32_t)info);
	return k;
}

/* ---- SMB2 ---- */

/* A response to the request m: the NetBIOS length, the SMB2 header (its
 * MessageId, the credits it asked for, at least 1), the body */
static void smb2_reply(struct conn *c, const uint8_t *m, uint32_t status, uint64_t session,
		       const uint8_t *body, size_t n)
{
	uint8_t h[4 + 64];
	uint16_t credits = get_le16(m + 14);

	memset(h, 0, sizeof(h));
	h[1] = (uint8_t)((64 + n) >> 16);
	h[2] = (uint8_t)((64 + n) >> 8);
	h[3] = (uint8_t)(64 + n);
	memcpy(h + 4, "\xfeSMB", 4);
	put_le16(h + 4 + 4, 64);
	put_le32(h + 4 + 8, status);
	memcpy(h + 4 + 12, m + 12, 2);			/* Command */
	put_le16(h + 4 + 14, credits < 1 ? 1 : credits > 64 ? 64 : credits);
	h[4 + 16] = 1;					/* SMB2_FLAGS_SERVER_TO_REDIR */
	memcpy(h + 4 + 24, m + 24, 8);			/* MessageId */
	memcpy(h + 4 + 32, m + 32, 8);			/* ProcessId, TreeId */
	put_le64(h + 4 + 40, session);
	conn_put(c, h, sizeof(h));
	conn_put(c, body, n);
}

/* The ERROR response (MS-SMB2 2.2.2): a status and nothing else */
static void smb2_error(struct conn *c, const uint8_t *m, uint32_t status, uint64_t session)
{
	static const uint8_t err[9] = { 9 };

	smb2_reply(c, m, status, session, err, sizeof(err));
}

/* The highest SMB2 dialect both know (0 when none). */
static uint16_t smb2_dialect(const uint8_t *m, size_t n)
{
	uint16_t best = 0;
	size_t count;

	if (n < 64 + 36)
		return 0;
	count = get_le16(m + 64 + 2);
	for (size_t i = 0; i < count && 64 + 36 + 2 * i + 2 <= n; i++) {
		uint16_t v = get_le16(m + 64 + 36 + 2 * i);

		if ((v == 0x0202 || v == 0x0210 || v == 0x0300 || v == 0x0302) && v > best)
			best = v;
	}
	return best;
}

/* The NEGOTIATE response: the dialect, and SPNEGO's negTokenInit naming
 * NTLMSSP as the one mechanism (RFC 4178 4.2.1) */
static void smb2_negotiate(struct conn *c, const uint8_t *m, uint16_t dialect)
{
	uint8_t b[64 + 64];
	struct der_out d = { b, sizeof(b), false };
	size_t end = d.at, tok;

	pre_bytes(&d, OID_NTLMSSP, sizeof(OID_NTLMSSP));
	pre_tag(&d, 0x30, end);				/* mechTypes */
	pre_tag(&d, 0xa0, end);
	pre_tag(&d, 0x30, end);				/* NegTokenInit */
	pre_tag(&d, 0xa0, end);
	pre_bytes(&d, OID_SPNEGO, sizeof(OID_SPNEGO));
	pre_tag(&d, 0x60, end);				/* the GSS-API initial token */
	if (d.full || d.at < 64) {	/* as in smb2_session_setup */
		c->closing = true;
		return;
	}
	tok = end - d.at;
	memmove(b + 64, b + d.at, tok);
	memset(b, 0, 64);
	put_le16(b, 65);				/* StructureSize */
	put_le16(b + 2, 1);				/* SecurityMode: signing enabled */
	put_le16(b + 4, dialect);
	memcpy(b + 8, "portkit-serve-gd", 16);		/* ServerGuid; Capabilities 0 */
	b[30] = 1;					/* MaxTransactSize 65536 */
	b[34] = 1;					/* MaxReadSize 65536 */
	b[38] = 1;					/* MaxWriteSize 65536 */
	put_le64(b + 40, filetime_now());		/* SystemTime */
	put_le16(b + 56, 64 + 64);			/* SecurityBufferOffset */
	put_le16(b + 58, (uint16_t)tok);
	smb2_reply(c, m, 0, 0, b, 64 + tok);
}

/* SESSION_SETUP: a CHALLENGE to NTLMSSP's NEGOTIATE, a refusal to anything
 * else (its AUTHENTICATE above all) */
static void smb2_session_setup(struct conn *c, const uint8_t *m, size_t n)
{
	uint8_t b[8 + 64 + NTLM_MAX], ntlm[NTLM_MAX];	/* 64: DER's headers, the OIDs */
	struct der_out d = { b, sizeof(b), false };
	size_t off, len, tlen = 0, end = d.at, mech;
	const uint8_t *tok = NULL;

	if (n >= 64 + 24) {
		off = get_le16(m + 64 + 12);
		len = get_le16(m + 64 + 14);
		if (off >= 64 + 24 && off <= n && len <= n - off)
			tok = smb_security_token(m + off, len, &tlen);
	}
	if (c->state != SMB_SETUP || !tok || get_le32(tok + 8) != 1) {
		smb2_error(c, m, STATUS_LOGON_FAILURE, c->state == SMB_AUTH ? SESSION_ID : 0);
		c->state = SMB_SETUP;
		if (++c->tries >= 3)
			c->closing = true;
		return;
	}
	c->state = SMB_AUTH;
	len = ntlm_challenge(c, tlen >= 16 ? get_le32(tok + 12) : 0, ntlm);
	/* negTokenResp { negState accept-incomplete, supportedMech, responseToken } */
	pre_bytes(&d, ntlm, len);
	pre_tag(&d, 0x04, end);
	pre_tag(&d, 0xa2, end);
	mech = d.at;
	pre_bytes(&d, OID_NTLMSSP, sizeof(OID_NTLMSSP));
	pre_tag(&d, 0xa1, mech);
	pre_bytes(&d, "\xa0\x03\x0a\x01\x01", 5);
	pre_tag(&d, 0x30, end);
	pre_tag(&d, 0xa1, end);
	if (d.full || d.at < 8) {	/* b is sized for the longest: cannot be */
		c->closing = true;
		return;
	}
	len = end - d.at;
	memmove(b + 8, b + d.at, len);
	put_le16(b, 9);					/* StructureSize */
	put_le16(b + 2, 0);				/* SessionFlags */
	put_le16(b + 4, 64 + 8);			/* SecurityBufferOffset */
	put_le16(b + 6, (uint16_t)len);
	smb2_reply(c, m, STATUS_MORE_PROCESSING, SESSION_ID, b, 8 + len);
}

/* One SMB2 request (the first of a compound one) */
static void smb2_request(struct conn *c, const uint8_t *m, size_t n)
{
	uint16_t cmd = get_le16(m + 12), dialect;

	if (c->state == SMB_NEG) {
		if (cmd != CMD_NEGOTIATE || !(dialect = smb2_dialect(m, n))) {
			c->closing = true;
			return;
		}
		smb2_negotiate(c, m, dialect);
		c->state = SMB_SETUP;
	} else if (cmd == CMD_SESSION_SETUP) {
		smb2_session_setup(c, m, n);
	} else if (cmd == CMD_ECHO) {
		static const uint8_t echo[4] = { 4 };

		smb2_reply(c, m, 0, 0, echo, sizeof(echo));
	} else if (cmd == CMD_NEGOTIATE) {
		c->closing = true;	/* a second NEGOTIATE: MS-SMB2 3.3.5.3.1 disconnects */
	} else {
		smb2_error(c, m, STATUS_SESSION_DELETED, get_le64(m + 40));
	}
}

/* ---- SMB1 NEGOTIATE ---- */

/* The SMB1 dialect strings of a NEGOTIATE request: the index of "NT LM
 * 0.12" (or -1), and whether one names SMB 2 ("SMB 2.002", "SMB 2.???") */
static int smb1_dialects(const uint8_t *m, size_t n, bool *smb2)
{
	size_t at = 32 + 1 + 2;	/* header, WordCount 0, ByteCount */
	int idx = -1;

	*smb2 = false;
	if (n < at || m[32] != 0)
		return -1;
	for (int i = 0; at < n && m[at] == 2 && i < 64; i++) {
		const uint8_t *s = m + at + 1, *z = memchr(s, 0, n - at - 1);

		if (!z)
			break;
		if ((size_t)(z - s) == 10 && !memcmp(s, "NT LM 0.12", 10))
			idx = i;
		if ((size_t)(z - s) >= 6 && !memcmp(s, "SMB 2.", 6))
			*smb2 = true;
		at = (size_t)(z - m) + 1;
	}
	return idx;
}

/* SMB1 NEGOTIATE response ([MS-CIFS] 2.2.4.52.2, NT LM 0.12 with extended
 * security), for a client that offers no SMB 2 dialect */
static void smb1_negotiate(struct conn *c, const uint8_t *m, int idx)
{
	uint8_t r[4 + 32 + 1 + 34 + 2 + 16];
	size_t k;

	memset(r, 0, sizeof(r));
	memcpy(r + 4, "\xffSMBr", 5);
	r[4 + 9] = 0x88;			/* reply, case-insensitive paths */
	put_le16(r + 4 + 10, 0xc801);		/* unicode, NT status, ext. security, long names */
	memcpy(r + 4 + 24, m + 24, 8);		/* TID, PID, UID, MID as asked */
	k = 4 + 32;
	if (idx < 0) {
		r[k++] = 1;			/* WordCount 1: DialectIndex 0xffff, none */
		put_le16(r + k, 0xffff);
		k += 2 + 2;			/* and ByteCount 0 */
	} else {
		r[k++] = 17;
		put_le16(r + k, (uint16_t)idx);
		r[k + 2] = 3;			/* user security, challenge/response */
		put_le16(r + k + 3, 50);		/* MaxMpxCount */
		put_le16(r + k + 5, 1);		/* MaxNumberVcs */
		put_le32(r + k + 7, 16644);	/* MaxBufferSize */
		put_le32(r + k + 11, 65536);	/* MaxRawSize */
		put_le32(r + k + 19, 0x8000025c);	/* Capabilities: ext. security, NT */
		put_le64(r + k + 23, filetime_now());
		k += 34;
		put_le16(r + k, 16);		/* ByteCount: the ServerGUID */
		memcpy(r + k + 2, "portkit-serve-gd", 16);
		k += 2 + 16;
	}
	r[1] = (uint8_t)((k - 4) >> 16);
	r[2] = (uint8_t)((k - 4) >> 8);
	r[3] = (uint8_t)(k - 4);
	conn_put(c, r, k);
}

/* An SMB1 NEGOTIATE: answered in SMB2 ("go on in SMB2", dialect 0x02FF, as
 * Windows does) when it offers SMB 2, else in SMB1 and closed */
static void smb1_request(struct conn *c, const uint8_t *m, size_t n)
{
	static const uint8_t smb2_hdr[64] = { 0xfe, 'S', 'M', 'B', 64 };
	bool smb2;
	int idx;

	if (c->state != SMB_NEG || n < 33 || m[4] != 0x72) {
		c->closing = true;
		return;
	}
	idx = smb1_dialects(m, n, &smb2);
	if (!smb2) {
		smb1_negotiate(c, m, idx);
		c->state = SMB1_DONE;
		c->closing = true;
		return;
	}
	smb2_negotiate(c, smb2_hdr, 0x02ff);	/* MessageId 0; the client negotiates again */
}

size_t smb_input(struct conn *c, const uint8_t *d, size_t n)
{
	size_t used = 0;

	while (!c->closing && n - used >= 4) {
		const uint8_t *m = d + used + 4;
		size_t len = (size_t)d[used + 1] << 16 | (size_t)d[used + 2] << 8 | d[used + 3];

		if (d[used] != 0 || len > IN_MAX - 8 || len < 4) {
			c->closing = true;
			break;
		}
		if (n - used - 4 < len)
			return used;
		if (len >= 64 && !memcmp(m, "\xfeSMB", 4))
			smb2_request(c, m, len);
		else if (len >= 32 && !memcmp(m, "\xffSMB", 4))
			smb1_request(c, m, len);
		else
			c->closing = true;
		used += 4 + len;
	}
	return c->closing ? n : used;
}
