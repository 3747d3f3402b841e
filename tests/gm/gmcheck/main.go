// gmcheck verifies the gateway's SM2 outputs with implementations nobody
// here wrote: SM2 and SM3 from github.com/tjfoc/gmsm (Debian's
// golang-github-tjfoc-gmsm-dev) and the C2SP signed-note verifier
// golang.org/x/mod/sumdb/note (golang-golang-x-mod-dev).  Built offline in
// GOPATH mode against /usr/share/gocode (tests/gm/build-gmcheck.sh).
//
//	gmcheck jws JWKS-FILE JWS-FILE
//	    A compact JWS with "alg":"GmSM2": its kid names an SM2 key of the
//	    JWKS whose kid is the RFC 7638 thumbprint of
//	    {"crv":"SM2","kty":"EC","x","y"}, and its r||s signature verifies
//	    over "header.payload" with SM2-SM3 and ID 1234567812345678.
//	    Prints the payload.
//	gmcheck note ED25519-VKEY SM2-VKEY NOTE-FILE
//	    The note verifies with Go's note package and the Ed25519 verifier
//	    key (which skips the SM2 line as a signature by an unknown key),
//	    and its SM2 line (type 0xff, identifier "1.2.156.10197.1.501")
//	    verifies here with gmsm.  Prints the note text.
//	gmcheck sign-jws JWKS-OUT JWS-OUT PAYLOAD
//	    The other direction: a fresh gmsm key signs PAYLOAD as a GmSM2 JWS,
//	    and its JWKS is written, for the gateway's verifier to read.
//	gmcheck xmldsig CERT-PEM XML-FILE
//	gmcheck sign-xmldsig KEY-PEM CERT-PEM XML-IN XML-OUT
//	    SM2 XML-DSig, canonicalized by goxmldsig (xmldsig.go).
//
// Exit 0 verified, 1 refused (reason on stderr), 2 usage.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/tjfoc/gmsm/sm2"
	"github.com/tjfoc/gmsm/sm3"
	"golang.org/x/mod/sumdb/note"
)

var uid = []byte("1234567812345678")

const sm2NoteIdent = "1.2.156.10197.1.501"

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gmcheck: "+format+"\n", a...)
	os.Exit(1)
}

func b64u(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		die("bad base64url %q: %v", s, err)
	}
	return b
}

func pubFromXY(x, y []byte) (*sm2.PublicKey, error) {
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New("coordinates are not 32 bytes")
	}
	c := sm2.P256Sm2()
	X, Y := new(big.Int).SetBytes(x), new(big.Int).SetBytes(y)
	if !c.IsOnCurve(X, Y) {
		return nil, errors.New("point not on the SM2 curve")
	}
	return &sm2.PublicKey{Curve: c, X: X, Y: Y}, nil
}

// verifyRS checks r||s under the distinguishing ID id (uid when empty).
func verifyRS(pub *sm2.PublicKey, msg, sig, id []byte) bool {
	if len(sig) != 64 {
		return false
	}
	if len(id) == 0 {
		id = uid
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return sm2VerifyMsg(pub, msg, id, r, s)
}

// zA is Z_A of GM/T 0003.2 (SM3 over ENTL_A || ID_A || a || b || x_G || y_G
// || x_A || y_A), every coordinate 32 bytes wide.  Debian's gmsm (sm2.ZA)
// pads x_A but not y_A: for one key in 256 (y_A below 2^248) it hashes 31
// bytes, so sm2.Sm2Verify refuses a correct signature and sm2.Sm2Sign makes
// one no other implementation accepts.  This tool therefore hashes with this
// Z_A and uses gmsm for SM3 and the curve arithmetic only (sm2.Sign and
// sm2.Verify take the digest e).
func zA(pub *sm2.PublicKey, id []byte) []byte {
	p := pub.Curve.Params()
	w := func(h interface{ Write([]byte) (int, error) }, x *big.Int) {
		b := x.Bytes()
		h.Write(append(make([]byte, 32-len(b)), b...))
	}
	h := sm3.New()
	h.Write([]byte{byte(len(id) * 8 >> 8), byte(len(id) * 8)})
	h.Write(id)
	w(h, new(big.Int).Sub(p.P, big.NewInt(3))) // a = p - 3
	w(h, p.B)
	w(h, p.Gx)
	w(h, p.Gy)
	w(h, pub.X)
	w(h, pub.Y)
	return h.Sum(nil)
}

func sm2Digest(pub *sm2.PublicKey, msg, id []byte) []byte {
	h := sm3.New()
	h.Write(zA(pub, id))
	h.Write(msg)
	return h.Sum(nil)
}

func sm2VerifyMsg(pub *sm2.PublicKey, msg, id []byte, r, s *big.Int) bool {
	return sm2.Verify(pub, sm2Digest(pub, msg, id), r, s)
}

func sm2SignMsg(priv *sm2.PrivateKey, msg, id []byte) (*big.Int, *big.Int, error) {
	return sm2.Sign(priv, sm2Digest(&priv.PublicKey, msg, id))
}

// An SM2 JWK may name its distinguishing ID ("sm2_id", docs/crypto.md).
type jwk struct {
	Kty, Crv, X, Y, Kid, Alg, Use string
	Sm2ID                         string `json:"sm2_id"`
}

func thumbprint(k jwk) string {
	canon := fmt.Sprintf(`{"crv":"%s","kty":"%s","x":"%s","y":"%s"}`, k.Crv, k.Kty, k.X, k.Y)
	h := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func cmdJWS(jwksPath, jwsPath string) {
	raw, err := os.ReadFile(jwksPath)
	if err != nil {
		die("%v", err)
	}
	var set struct{ Keys []jwk }
	if err := json.Unmarshal(raw, &set); err != nil {
		die("JWKS: %v", err)
	}
	tok, err := os.ReadFile(jwsPath)
	if err != nil {
		die("%v", err)
	}
	parts := strings.Split(strings.TrimSpace(string(tok)), ".")
	if len(parts) != 3 {
		die("not a compact JWS")
	}
	var hdr struct{ Alg, Kid, Typ string }
	if err := json.Unmarshal(b64u(parts[0]), &hdr); err != nil {
		die("header: %v", err)
	}
	if hdr.Alg != "GmSM2" {
		die("alg %q, not GmSM2", hdr.Alg)
	}
	for _, k := range set.Keys {
		if k.Kid != hdr.Kid {
			continue
		}
		if k.Kty != "EC" || k.Crv != "SM2" || k.Alg != "GmSM2" {
			die("key %s is not an SM2 JWK (kty %q crv %q alg %q)", k.Kid, k.Kty, k.Crv, k.Alg)
		}
		if tp := thumbprint(k); tp != k.Kid {
			die("kid %s is not the RFC 7638 thumbprint %s", k.Kid, tp)
		}
		pub, err := pubFromXY(b64u(k.X), b64u(k.Y))
		if err != nil {
			die("key %s: %v", k.Kid, err)
		}
		if !verifyRS(pub, []byte(parts[0]+"."+parts[1]), b64u(parts[2]), []byte(k.Sm2ID)) {
			die("SM2 signature does not verify")
		}
		os.Stdout.Write(b64u(parts[1]))
		return
	}
	die("no key with kid %q in the JWKS", hdr.Kid)
}

// parseSM2Vkey reads "<name>+<8 hex>+<base64(0xff || ident || 0x04 || x || y [|| ID])>";
// the bytes after the point, if any, are the signer's distinguishing ID.
func parseSM2Vkey(s string) (name string, id uint32, pub *sm2.PublicKey, distid []byte) {
	f := strings.SplitN(strings.TrimSpace(s), "+", 3)
	if len(f) != 3 {
		die("SM2 verifier key: not name+hash+key")
	}
	key, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil {
		die("SM2 verifier key: %v", err)
	}
	want := append([]byte{0xff}, sm2NoteIdent...)
	if !bytes.HasPrefix(key, want) || len(key) < len(want)+65 || key[len(want)] != 4 {
		die("SM2 verifier key: not 0xff %q and an uncompressed point", sm2NoteIdent)
	}
	point := key[len(want) : len(want)+65]
	distid = key[len(want)+65:]
	pub, err = pubFromXY(point[1:33], point[33:])
	if err != nil {
		die("SM2 verifier key: %v", err)
	}
	h := sha256.Sum256(append([]byte(f[0]+"\n"), key...))
	id = binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != f[1] {
		die("SM2 verifier key: hash %s is not the key ID %08x", f[1], id)
	}
	return f[0], id, pub, distid
}

func cmdNote(edPath, smPath, notePath string) {
	edKey, err := os.ReadFile(edPath)
	if err != nil {
		die("%v", err)
	}
	smKey, err := os.ReadFile(smPath)
	if err != nil {
		die("%v", err)
	}
	msg, err := os.ReadFile(notePath)
	if err != nil {
		die("%v", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(edKey)))
	if err != nil {
		die("Ed25519 verifier key: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		die("note.Open (Ed25519): %v", err)
	}
	if len(n.UnverifiedSigs) != 1 {
		die("expected exactly one signature the Ed25519 verifier skips (the SM2 one), got %d",
			len(n.UnverifiedSigs))
	}
	name, id, pub, distid := parseSM2Vkey(string(smKey))
	text := []byte(n.Text)
	checked := 0
	for _, line := range strings.Split(string(msg[len(text)+1:]), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(strings.TrimPrefix(line, "\u2014 "), " ", 2)
		if len(f) != 2 || f[0] != name {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(blob) < 4 || binary.BigEndian.Uint32(blob) != id {
			continue
		}
		if !verifyRS(pub, text, blob[4:], distid) {
			die("SM2 note signature does not verify")
		}
		checked++
	}
	if checked != 1 {
		die("found %d SM2 signature lines by %s+%08x, want 1", checked, name, id)
	}
	os.Stdout.WriteString(n.Text)
}

func cmdSignJWS(jwksOut, jwsOut, payload string) {
	priv, err := sm2.GenerateKey()
	if err != nil {
		die("%v", err)
	}
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	k := jwk{Kty: "EC", Crv: "SM2", X: base64.RawURLEncoding.EncodeToString(pad(priv.X.Bytes())),
		Y: base64.RawURLEncoding.EncodeToString(pad(priv.Y.Bytes())), Alg: "GmSM2", Use: "sig"}
	k.Kid = thumbprint(k)
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"GmSM2","kid":"` + k.Kid + `"}`))
	input := hdr + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	r, s, err := sm2SignMsg(priv, []byte(input), uid)
	if err != nil {
		die("%v", err)
	}
	sig := append(pad(r.Bytes()), pad(s.Bytes())...)
	set, _ := json.Marshal(map[string][]map[string]string{"keys": {{"kty": k.Kty, "crv": k.Crv,
		"x": k.X, "y": k.Y, "kid": k.Kid, "alg": k.Alg, "use": k.Use}}})
	if err := os.WriteFile(jwksOut, set, 0o644); err != nil {
		die("%v", err)
	}
	tok := input + "." + base64.RawURLEncoding.EncodeToString(sig)
	if err := os.WriteFile(jwsOut, []byte(tok), 0o644); err != nil {
		die("%v", err)
	}
}

func main() {
	a := os.Args
	switch {
	case len(a) == 4 && a[1] == "jws":
		cmdJWS(a[2], a[3])
	case len(a) == 5 && a[1] == "note":
		cmdNote(a[2], a[3], a[4])
	case len(a) == 5 && a[1] == "sign-jws":
		cmdSignJWS(a[2], a[3], a[4])
	case len(a) == 4 && a[1] == "xmldsig":
		cmdXMLDSig(a[2], a[3])
	case len(a) == 6 && a[1] == "sign-xmldsig":
		cmdSignXMLDSig(a[2], a[3], a[4], a[5])
	default:
		fmt.Fprintln(os.Stderr, "usage: gmcheck jws JWKS JWS | note ED25519-VKEY SM2-VKEY NOTE | sign-jws JWKS-OUT JWS-OUT PAYLOAD"+
			" | xmldsig CERT XML | sign-xmldsig KEY CERT XML-IN XML-OUT")
		os.Exit(2)
	}
}
