/*
 * gw/checkpoint_sm2.h - an SM2 signature line on a C2SP signed note (the
 * 国密 profile's checkpoints, docs/crypto.md).
 *
 * The one idea: a checkpoint stays exactly what every C2SP tool reads (the
 * Ed25519 line of gw/checkpoint.h is always there) and gains one more
 * signature line that those tools skip as "a signature by an unknown key".
 * C2SP signed-note reserves signature type 0xff for types it has not
 * assigned, "followed by a longer identifier"; ours is the OID of SM2 with
 * SM3, "1.2.156.10197.1.501" (GM/T 0006).  So:
 *
 *   public key encoding  0xff || "1.2.156.10197.1.501" || 0x04 || x || y [|| ID]
 *   key ID               SHA-256(key name || 0x0a || that encoding)[:4]
 *   signature line       "— <key name> " base64(key ID || r || s) "\n"
 *   verifier key         "<key name>+<8 hex of ID>+" base64(that encoding)
 *
 * where r || s (64 bytes) is the SM2 signature over the note text (final
 * newline included, as for Ed25519) with SM3 and the GM/T 0009 ID
 * "1234567812345678" -- or the ID the deployment configured
 * (crypto.sm2_id), which then follows the point in the key encoding (1 to
 * GW_GM_SM2_ID_MAX printable ASCII bytes; none means the default, so keys
 * under the default are unchanged).  The key name is the Ed25519 line's (the log's
 * origin): one signer, two algorithms; C2SP tells verifiers to ignore a
 * signature whose name matches a known key but whose ID does not.
 *
 * Threads: signers are immutable once made.  Strings are freed with
 * gw_free().
 */
#ifndef GW_CHECKPOINT_SM2_H
#define GW_CHECKPOINT_SM2_H

#include <stddef.h>

#include "gw/checkpoint.h"

#define GW_CHECKPOINT_SM2_IDENT "1.2.156.10197.1.501"

struct gw_checkpoint_sm2;

/* Loads an unencrypted SM2 private key (PKCS#8 PEM) to sign as `key_name`
 * (the rules of GW_CHECKPOINT_EINVAL apply).  On success *out is owned by
 * the caller (gw_checkpoint_sm2_free). */
enum gw_checkpoint_result gw_checkpoint_sm2_load(const char *pem_path, const char *key_name,
                                                 struct gw_checkpoint_sm2 **out)
  __attribute__((warn_unused_result));

/* As gw_checkpoint_sm2_load, signing under the distinguishing ID `sm2_id`
 * (NULL: GM/T 0009's default; otherwise gw_gm_sm2_id_ok must accept it,
 * else GW_CHECKPOINT_EINVAL). */
enum gw_checkpoint_result gw_checkpoint_sm2_load_id(const char *pem_path, const char *key_name,
                                                    const char *sm2_id,
                                                    struct gw_checkpoint_sm2 **out)
  __attribute__((warn_unused_result));

/* NULL is a no-op. */
void gw_checkpoint_sm2_free(struct gw_checkpoint_sm2 *s);

/* The verifier key (see above) into a new string the caller frees. */
enum gw_checkpoint_result gw_checkpoint_sm2_verifier_key(const struct gw_checkpoint_sm2 *s,
                                                         char **out)
  __attribute__((warn_unused_result));

/* Adds this signer's line to the signed note *note (*len bytes, owned by
 * the caller, as gw_checkpoint_sign makes it): the text up to its last
 * blank line is signed and the line appended after the existing ones.  On
 * success *note is replaced by a new string (the old one freed) and *len
 * updated; on error both are left as they were. */
enum gw_checkpoint_result gw_checkpoint_sm2_cosign(const struct gw_checkpoint_sm2 *s,
                                                   char **note, size_t *len)
  __attribute__((warn_unused_result));

/* Verifies the SM2 line(s) of note[0..len) by the verifier key `vkey`
 * (NUL-terminated): GW_CHECKPOINT_EUNKNOWN_KEY when there is none,
 * GW_CHECKPOINT_EBADSIG when one fails, GW_CHECKPOINT_EKEY for a malformed
 * key string.  Only the SM2 lines are looked at: the Ed25519 line is
 * gw_checkpoint_verify's. */
enum gw_checkpoint_result gw_checkpoint_sm2_verify(const char *vkey, const char *note,
                                                   size_t len)
  __attribute__((warn_unused_result));

#endif /* GW_CHECKPOINT_SM2_H */
