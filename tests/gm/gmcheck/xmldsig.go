// SM2 XML-DSig (SignatureMethod xmldsig#sm2-sm3, DigestMethod xmldsig#sm3)
// checked and made without libxml2 and without OpenSSL: the XML tree is
// github.com/beevik/etree, exclusive C14N is goxmldsig's own canonicalizer
// (Debian's golang-github-russellhaering-goxmldsig-dev), SM2/SM3 and the
// certificate parser are gmsm's.
//
//	gmcheck xmldsig CERT-PEM XML-FILE
//	    The one ds:Signature of the document: its Reference "#id" names the
//	    element carrying that Id; that element, the signature removed
//	    (enveloped-signature) and exclusive-canonicalized, hashes with SM3
//	    to DigestValue; the exclusive canonical SignedInfo verifies with
//	    SM2 (ID 1234567812345678) under the certificate's key against
//	    SignatureValue (raw r||s).  Prints the referenced element's tag.
//	gmcheck sign-xmldsig KEY-PEM CERT-PEM XML-IN XML-OUT
//	    The other direction: appends to the element of XML-IN that has an
//	    Id attribute an enveloped signature made the same way, for the
//	    gateway's verifier to read.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"math/big"
	"os"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/tjfoc/gmsm/sm2"
	"github.com/tjfoc/gmsm/sm3"
)

const (
	dsNS      = "http://www.w3.org/2000/09/xmldsig#"
	excC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	enveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	uriSM2SM3 = "http://www.w3.org/2000/09/xmldsig#sm2-sm3"
	uriSM3    = "http://www.w3.org/2000/09/xmldsig#sm3"
)

// excCanon: exclusive C14N of el in the namespace context of its ancestors.
func excCanon(el *etree.Element, drop *etree.Element) []byte {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		die("namespaces: %v", err)
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		die("namespaces: %v", err)
	}
	if drop != nil { // enveloped-signature: the copy loses its signature child
		for _, c := range det.ChildElements() {
			if c.Tag == drop.Tag && c.Space == drop.Space {
				det.RemoveChild(c)
			}
		}
	}
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(det)
	if err != nil {
		die("c14n: %v", err)
	}
	return out
}

// child: the first child element in the ds namespace named tag.
func child(el *etree.Element, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == dsNS {
			return c
		}
	}
	return nil
}

func findByID(root *etree.Element, id string) *etree.Element {
	var hit *etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, a := range e.Attr {
			if a.Key == "Id" && a.Value == id {
				if hit != nil {
					die("two elements have Id %q", id)
				}
				hit = e
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	return hit
}

func sm2Cert(path string) *sm2.PublicKey {
	cert, err := sm2.ReadCertificateFromPem(path)
	if err != nil {
		die("certificate: %v", err)
	}
	// gmsm's parser gives an *ecdsa.PublicKey on the SM2 curve
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != sm2.P256Sm2() {
		die("the certificate's key is not SM2")
	}
	return &sm2.PublicKey{Curve: pub.Curve, X: pub.X, Y: pub.Y}
}

func sm3Sum(b []byte) []byte {
	h := sm3.New()
	h.Write(b)
	return h.Sum(nil)
}

func cmdXMLDSig(certPath, xmlPath string) {
	pub := sm2Cert(certPath)
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(xmlPath); err != nil {
		die("%v", err)
	}
	var sigs []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Tag == "Signature" && e.NamespaceURI() == dsNS {
			sigs = append(sigs, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
	if len(sigs) != 1 {
		die("%d signatures", len(sigs))
	}
	sig := sigs[0]
	si := child(sig, "SignedInfo")
	ref := child(si, "Reference")
	if ref == nil {
		die("no Reference")
	}
	if a := child(si, "SignatureMethod").SelectAttrValue("Algorithm", ""); a != uriSM2SM3 {
		die("SignatureMethod %q", a)
	}
	if a := child(si, "CanonicalizationMethod").SelectAttrValue("Algorithm", ""); a != excC14N {
		die("CanonicalizationMethod %q (only exclusive C14N here)", a)
	}
	if a := child(ref, "DigestMethod").SelectAttrValue("Algorithm", ""); a != uriSM3 {
		die("DigestMethod %q", a)
	}
	var algs []string
	for _, t := range child(ref, "Transforms").ChildElements() {
		algs = append(algs, t.SelectAttrValue("Algorithm", ""))
	}
	if strings.Join(algs, " ") != enveloped+" "+excC14N {
		die("transforms %v", algs)
	}
	uri := ref.SelectAttrValue("URI", "")
	if !strings.HasPrefix(uri, "#") {
		die("Reference URI %q", uri)
	}
	target := findByID(doc.Root(), uri[1:])
	if target == nil {
		die("no element has Id %q", uri[1:])
	}
	want, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(child(ref, "DigestValue").Text()), ""))
	if err != nil {
		die("DigestValue: %v", err)
	}
	if got := sm3Sum(excCanon(target, sig)); !bytes.Equal(got, want) {
		die("SM3 digest of the referenced element does not match DigestValue")
	}
	sv, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(child(sig, "SignatureValue").Text()), ""))
	if err != nil || len(sv) != 64 {
		die("SignatureValue is not 64 bytes of r||s")
	}
	r, s := new(big.Int).SetBytes(sv[:32]), new(big.Int).SetBytes(sv[32:])
	if !sm2VerifyMsg(pub, excCanon(si, nil), uid, r, s) {
		die("the SM2 signature over SignedInfo does not verify")
	}
	os.Stdout.WriteString(target.Tag + "\n")
}

func cmdSignXMLDSig(keyPath, certPath, in, out string) {
	priv, err := sm2.ReadPrivateKeyFromPem(keyPath, nil)
	if err != nil {
		die("key: %v", err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		die("%v", err)
	}
	var certB64 []string
	for _, l := range strings.Split(string(certPEM), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			certB64 = append(certB64, l)
		}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(in); err != nil {
		die("%v", err)
	}
	var target *etree.Element
	var id string
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, a := range e.Attr {
			if a.Key == "Id" && target == nil {
				target, id = e, a.Value
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
	if target == nil {
		die("no element with an Id")
	}
	digest := sm3Sum(excCanon(target, nil))

	sig := target.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", dsNS)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", excC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", uriSM2SM3)
	ref := si.CreateElement("ds:Reference")
	ref.CreateAttr("URI", "#"+id)
	ts := ref.CreateElement("ds:Transforms")
	ts.CreateElement("ds:Transform").CreateAttr("Algorithm", enveloped)
	ts.CreateElement("ds:Transform").CreateAttr("Algorithm", excC14N)
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", uriSM3)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))
	r, s, err := sm2SignMsg(priv, excCanon(si, nil), uid)
	if err != nil {
		die("%v", err)
	}
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	sig.CreateElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(append(pad(r.Bytes()), pad(s.Bytes())...)))
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(strings.Join(certB64, ""))
	if err := doc.WriteToFile(out); err != nil {
		die("%v", err)
	}
}
