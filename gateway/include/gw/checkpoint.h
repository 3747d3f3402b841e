/*
 * gw/checkpoint.h - signed tree heads as C2SP checkpoints in signed notes.
 *
 * The one idea: a checkpoint is plain text that existing transparency-log
 * tools and witnesses already read, so we write exactly the C2SP formats and
 * nothing of our own:
 *
 *   c2sp.org/tlog-checkpoint body     "<origin>\n<size>\n<base64 root>\n"
 *   c2sp.org/signed-note wrapping     body "\n" "— <key name> <base64(id || sig)>\n"
 *
 * where "—" is U+2014 (bytes e2 80 94), id is the 4-byte key ID
 * SHA-256(key name || 0x0a || 0x01 || 32-byte Ed25519 public key)[:4] and
 * sig is the 64-byte Ed25519 signature (RFC 8032) over the body, final
 * newline included.  The verifier key that /v1/audit/checkpoint-key serves is
 * "<key name>+<8 lowercase hex of id>+<base64(0x01 || public key)>", the
 * form Go's golang.org/x/mod/sumdb/note reads.
 *
 * Verification follows the signed-note rules: the note must be UTF-8 without
 * control characters other than newline; the text ends at the last blank
 * line; signatures by keys other than the verifier's (another name or
 * another id) are ignored; a signature by the verifier's key that fails
 * rejects the note; a note with no signature by the verifier's key is
 * rejected.  Only then is the body parsed.
 *
 * Never here: when checkpoints are made, where they are stored, Merkle
 * hashing (gw/audit.h and gw/merkle.h own those), or any other note
 * signature type than Ed25519.
 *
 * Threads: signers and verifiers are immutable once made; any number of
 * threads may sign or verify with the same one at once.  Every string this
 * module hands over is freed with gw_free().
 */
#ifndef GW_CHECKPOINT_H
#define GW_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define GW_CHECKPOINT_HASH_LEN    32
#define GW_CHECKPOINT_KEY_ID_LEN  4
/* Origin lines and key names we make or accept, bytes. */
#define GW_CHECKPOINT_NAME_MAX    255
/* A whole note we accept for verification (the spec asks verifiers to take
 * at least 16 signatures; 16 Ed25519 lines of a 255-byte name are ~6 KiB). */
#define GW_CHECKPOINT_NOTE_MAX    (16 * 1024)
/* Signature lines looked at in one note. */
#define GW_CHECKPOINT_SIGS_MAX    64
/* A PEM key file, bytes. */
#define GW_CHECKPOINT_PEM_MAX     (16 * 1024)

enum gw_checkpoint_result {
  GW_CHECKPOINT_OK = 0,
  GW_CHECKPOINT_EINVAL,        /* NULL argument, or a name/origin we refuse to
                                  sign: empty, over GW_CHECKPOINT_NAME_MAX,
                                  not printable ASCII, or holding ' ' or '+' */
  GW_CHECKPOINT_EIO,           /* key file cannot be read */
  GW_CHECKPOINT_EKEY,          /* not an unencrypted Ed25519 PKCS#8 (or SPKI)
                                  key, or a malformed verifier key string */
  GW_CHECKPOINT_ETOOBIG,       /* note over GW_CHECKPOINT_NOTE_MAX, or too
                                  many signature lines */
  GW_CHECKPOINT_EFORMAT,       /* not a signed note: bad UTF-8, control
                                  characters, no blank line, a malformed
                                  signature line */
  GW_CHECKPOINT_EBODY,         /* signed, but not a checkpoint body: fewer
                                  than 3 lines, bad size, root not base64 of
                                  32 bytes */
  GW_CHECKPOINT_EUNKNOWN_KEY,  /* no signature line by the verifier's key */
  GW_CHECKPOINT_EBADSIG,       /* the verifier's key signed, but it fails */
  GW_CHECKPOINT_EORIGIN,       /* verified, but not the expected origin */
  GW_CHECKPOINT_ECRYPTO        /* OpenSSL failed */
};

/* A short English description.  Static storage; never NULL. */
const char *gw_checkpoint_strerror(enum gw_checkpoint_result r);

/* A parsed checkpoint body.  A plain value the caller owns. */
struct gw_checkpoint {
  char origin[GW_CHECKPOINT_NAME_MAX + 1]; /* NUL-terminated */
  uint64_t size;
  uint8_t root[GW_CHECKPOINT_HASH_LEN];
};

/* ---- signing ---------------------------------------------------------- */

struct gw_checkpoint_signer;

/* Loads an unencrypted Ed25519 private key (PKCS#8 PEM, as
 * certs/gen-pki.sh writes gateway/checkpoint.key) to sign as `key_name`
 * (copied; the rules of GW_CHECKPOINT_EINVAL apply).  Never prompts for a
 * passphrase.  On success *out is owned by the caller
 * (gw_checkpoint_signer_free); on error *out is NULL. */
enum gw_checkpoint_result gw_checkpoint_signer_load(const char *pem_path, const char *key_name,
                                                    struct gw_checkpoint_signer **out)
  __attribute__((warn_unused_result));

/* As above from PEM text in memory. */
enum gw_checkpoint_result gw_checkpoint_signer_from_pem(const char *pem, size_t len,
                                                        const char *key_name,
                                                        struct gw_checkpoint_signer **out)
  __attribute__((warn_unused_result));

/* NULL is a no-op; the private key is wiped by OpenSSL. */
void gw_checkpoint_signer_free(struct gw_checkpoint_signer *s);

/* The signer's key name (owned by the signer). */
const char *gw_checkpoint_signer_name(const struct gw_checkpoint_signer *s);

/* The note verifier key "<name>+<hex id>+<base64(0x01 || pub)>" into a new
 * NUL-terminated string the caller frees with gw_free(). */
enum gw_checkpoint_result gw_checkpoint_signer_verifier_key(const struct gw_checkpoint_signer *s,
                                                            char **out)
  __attribute__((warn_unused_result));

/* The signed note of checkpoint (origin, size, root): body, blank line, one
 * signature line.  `origin` follows the GW_CHECKPOINT_EINVAL rules.  On
 * success *note (NUL-terminated, *len bytes without the NUL) is owned by the
 * caller (gw_free()); on error it is NULL. */
enum gw_checkpoint_result gw_checkpoint_sign(const struct gw_checkpoint_signer *s,
                                             const char *origin, uint64_t size,
                                             const uint8_t root[GW_CHECKPOINT_HASH_LEN],
                                             char **note, size_t *len)
  __attribute__((warn_unused_result));

/* ---- verifying -------------------------------------------------------- */

struct gw_checkpoint_verifier;

/* Parses a verifier key string "<name>+<8 hex>+<base64(0x01 || 32 bytes)>"
 * (NUL-terminated).  The hex must be the key ID of that name and key, as Go's
 * note.NewVerifier demands.  On success *out is owned by the caller
 * (gw_checkpoint_verifier_free). */
enum gw_checkpoint_result gw_checkpoint_verifier_new(const char *vkey,
                                                     struct gw_checkpoint_verifier **out)
  __attribute__((warn_unused_result));

void gw_checkpoint_verifier_free(struct gw_checkpoint_verifier *v);

/* Verifies `note` (len bytes, need not be NUL-terminated) with `v` under the
 * signed-note rules above, then parses its body into *out (may be NULL).
 * `expected_origin` (may be NULL: any) must equal the origin line, else
 * GW_CHECKPOINT_EORIGIN (after the signature has verified, so a forged note
 * is EBADSIG/EUNKNOWN_KEY whatever its origin).  *out is undefined on
 * error. */
enum gw_checkpoint_result gw_checkpoint_verify(const struct gw_checkpoint_verifier *v,
                                               const char *note, size_t len,
                                               const char *expected_origin,
                                               struct gw_checkpoint *out)
  __attribute__((warn_unused_result));

/* Parses a checkpoint body ("<origin>\n<size>\n<root>\n" and optional
 * non-empty extension lines, which are ignored) WITHOUT checking any
 * signature: only for text that was verified by other means, or for display.
 * `text` may be a whole note: parsing stops at the first blank line.  Size:
 * decimal, no leading zeros, at most 2^63.  GW_CHECKPOINT_EBODY otherwise. */
enum gw_checkpoint_result gw_checkpoint_parse_body(const char *text, size_t len,
                                                   struct gw_checkpoint *out)
  __attribute__((warn_unused_result));

/* SHA-256(name || 0x0a || 0x01 || pub)[:4]: the signed-note key ID of an
 * Ed25519 key, big-endian. */
enum gw_checkpoint_result gw_checkpoint_key_id(const char *name, const uint8_t pub[32],
                                               uint8_t id[GW_CHECKPOINT_KEY_ID_LEN])
  __attribute__((warn_unused_result));

#endif
