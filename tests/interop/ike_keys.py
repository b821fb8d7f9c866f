#!/usr/bin/env python3
"""Print tshark's uat:ikev2_decryption_table entry for one IKE SA from a charon log.

  ike_keys.py SPIi SPIr < charon.log   (SPIs as 16 hex digits, charon logged with ike = 4)

charon (5.9.8, ike >= 4) dumps SK_ei and SK_er after "Sk_ei secret => N bytes @ 0x..." as
lines "   0: 4E 5A ..."; the suite comes from "selected proposal: IKE:...". Only AEAD suites
(AES-GCM, ChaCha20-Poly1305: SK_e includes the salt, no SK_a). Prints nothing if not found.
"""
import re
import sys

NAMES = {
    "AES_GCM_16_256": "AES-GCM-256 with 16 octet ICV [RFC5282]",
    "AES_GCM_16_128": "AES-GCM-128 with 16 octet ICV [RFC5282]",
    "CHACHA20_POLY1305": "ChaCha20-Poly1305 [RFC7634]",
}


def main():
    spii, spir = sys.argv[1].lower(), sys.argv[2].lower()
    lines = sys.stdin.read().splitlines()
    keys, encr = {}, None
    for i, line in enumerate(lines):
        m = re.search(r"selected proposal: IKE:([A-Z0-9_]+)", line)
        if m:
            encr = m.group(1)
        m = re.search(r"Sk_e([ir]) secret => (\d+) bytes", line)
        if not m or m.group(1) in keys:  # the first IKE SA of the log
            continue
        want, hexs = int(m.group(2)), ""
        for nxt in lines[i + 1:]:
            d = re.search(r"\s\d+: ((?:[0-9A-F]{2} ){1,16})", nxt + " ")
            if not d or len(hexs) >= 2 * want:
                break
            hexs += d.group(1).replace(" ", "")
        keys[m.group(1)] = hexs[: 2 * want].lower()
    if encr not in NAMES or "i" not in keys or "r" not in keys:
        return
    print('uat:ikev2_decryption_table:%s,%s,%s,%s,"%s",,,"NONE [RFC4306]"'
          % (spii, spir, keys["i"], keys["r"], NAMES[encr]))


if __name__ == "__main__":
    main()
