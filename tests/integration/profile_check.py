#!/usr/bin/python3
"""Checks a profile written by `braidctl profile` with the parser its platform uses, or the
platform's documented value sets, and prints the IKE and ESP proposals it configures as
braid/strongSwan proposal strings ("IKE ESP"), so that a test can offer exactly those to the
gateway.

  profile_check.py nm FILE            libnm's keyfile reader (NM.keyfile_read), verify()
  profile_check.py mobileconfig FILE  plistlib; payload keys, types, Apple's value names
  profile_check.py powershell FILE    Set-VpnConnectionIPsecConfiguration's value sets

Exit 0 and one line "IKE ESP" (nm: the ike= and esp= keys) on success, 1 with the reason.
"""
import plistlib
import re
import sys


def fail(why):
    print(f"profile_check: {why}", file=sys.stderr)
    sys.exit(1)


def need(cond, why):
    if not cond:
        fail(why)


def check_nm(path):
    import gi
    gi.require_version("NM", "1.0")
    from gi.repository import NM, GLib
    text = open(path, encoding="utf-8").read()
    kf = GLib.KeyFile()
    kf.load_from_data(text, len(text.encode()), GLib.KeyFileFlags.NONE)
    try:
        conn = NM.keyfile_read(kf, "/etc/NetworkManager/system-connections",
                               NM.KeyfileHandlerFlags.NONE, None, None)
    except TypeError:  # older bindings take no user_data
        conn = NM.keyfile_read(kf, "/etc/NetworkManager/system-connections",
                               NM.KeyfileHandlerFlags.NONE, None)
    need(conn.verify(), "libnm: connection does not verify")
    need(conn.get_connection_type() == "vpn", "not a VPN connection")
    vpn = conn.get_setting_vpn()
    need(vpn.get_service_type() == "org.freedesktop.NetworkManager.strongswan",
         f"service-type {vpn.get_service_type()}")
    # The keys NetworkManager-strongswan's charon-nm reads (nm_service.c); ike, esp and
    # remote-ts separate their items with ';'.
    known = {"address", "certificate", "method", "user", "usercert", "userkey", "virtual",
             "encap", "ipcomp", "proposal", "ike", "esp", "remote-identity", "password-flags",
             "remote-ts", "local-identity", "server-port", "cert-source"}
    keys = set(vpn.get_data_keys())
    need(keys <= known, f"unknown vpn keys {sorted(keys - known)}")
    need(vpn.get_data_item("method") in ("eap", "key"), "method is neither eap nor key")
    for k in ("address", "certificate", "remote-identity", "ike", "esp", "remote-ts"):
        need(vpn.get_data_item(k), f"vpn key {k} missing")
    need(vpn.get_data_item("virtual") == "yes", "virtual != yes (no virtual IP requested)")
    ip4 = conn.get_setting_ip4_config()
    need(ip4.get_never_default(), "ipv4 never-default is not set (split tunnel)")
    routes = [f"{ip4.get_route(i).get_dest()}/{ip4.get_route(i).get_prefix()}"
              for i in range(ip4.get_num_routes())]
    print(f"# {conn.get_id()} {conn.get_uuid()} routes={','.join(routes)}", file=sys.stderr)
    return vpn.get_data_item("ike"), vpn.get_data_item("esp")


# Apple Configuration Profile Reference, VPN.IKEv2 and its SecurityAssociationParameters.
APPLE_ENCR = {"AES-128": "aes128", "AES-256": "aes256", "AES-128-GCM": "aes128gcm16",
              "AES-256-GCM": "aes256gcm16", "ChaCha20Poly1305": "chacha20poly1305",
              "DES": None, "3DES": None}
APPLE_INTEG = {"SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512",
               "SHA1-96": None, "SHA1-160": None}
APPLE_DH = {14: "modp2048", 15: "modp3072", 16: "modp4096", 19: "ecp256", 20: "ecp384",
            21: "ecp521", 31: "x25519", 0: None, 1: None, 2: None, 5: None, 17: None, 18: None,
            32: None}


def apple_params(d, where):
    need(isinstance(d, dict), f"{where} is not a dict")
    enc, integ, dh = d.get("EncryptionAlgorithm"), d.get("IntegrityAlgorithm"), \
        d.get("DiffieHellmanGroup")
    need(isinstance(enc, str) and enc in APPLE_ENCR, f"{where}.EncryptionAlgorithm {enc!r}")
    need(isinstance(integ, str) and integ in APPLE_INTEG, f"{where}.IntegrityAlgorithm {integ!r}")
    need(isinstance(dh, int) and dh in APPLE_DH, f"{where}.DiffieHellmanGroup {dh!r}")
    life = d.get("LifeTimeInMinutes")
    need(isinstance(life, int) and 10 <= life <= 1440, f"{where}.LifeTimeInMinutes {life!r}")
    need(APPLE_ENCR[enc] and APPLE_INTEG[integ] and APPLE_DH[dh],
         f"{where}: a legacy algorithm braid does not offer")
    return APPLE_ENCR[enc], APPLE_INTEG[integ], APPLE_DH[dh]


def check_mobileconfig(path):
    with open(path, "rb") as f:
        top = plistlib.load(f)
    need(top.get("PayloadType") == "Configuration", "top PayloadType")
    need(isinstance(top.get("PayloadVersion"), int), "top PayloadVersion")
    uuid = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
    content = top.get("PayloadContent")
    need(isinstance(content, list) and content, "PayloadContent is no array")
    roots, vpns, uuids = [], [], set()
    for p in content:
        for k in ("PayloadType", "PayloadIdentifier", "PayloadUUID", "PayloadDisplayName"):
            need(isinstance(p.get(k), str), f"payload without string {k}")
        need(uuid.match(p["PayloadUUID"]), f"PayloadUUID {p['PayloadUUID']}")
        need(p["PayloadUUID"] not in uuids, "duplicate PayloadUUID")
        uuids.add(p["PayloadUUID"])
        if p["PayloadType"] == "com.apple.security.root":
            need(isinstance(p.get("PayloadContent"), bytes), "root certificate is not <data>")
            roots.append(p["PayloadContent"])
        elif p["PayloadType"] == "com.apple.security.pkcs12":
            need(isinstance(p.get("PayloadContent"), bytes), "PKCS#12 is not <data>")
        elif p["PayloadType"] == "com.apple.vpn.managed":
            vpns.append(p)
        else:
            fail(f"unexpected payload {p['PayloadType']}")
    need(roots, "no com.apple.security.root payload")
    need(roots[0][:1] == b"\x30", "root certificate is not DER")
    need(vpns, "no com.apple.vpn.managed payload")
    out = None
    for v in vpns:
        need(v.get("VPNType") == "IKEv2", "VPNType is not IKEv2")
        need(isinstance(v.get("UserDefinedName"), str), "UserDefinedName")
        ike = v.get("IKEv2")
        need(isinstance(ike, dict), "IKEv2 dict")
        for k in ("RemoteAddress", "RemoteIdentifier", "LocalIdentifier"):
            need(isinstance(ike.get(k), str) and ike[k], f"IKEv2.{k}")
        auth = ike.get("AuthenticationMethod")
        need(auth in ("None", "SharedSecret", "Certificate"), f"AuthenticationMethod {auth}")
        if auth == "None":
            need(ike.get("ExtendedAuthEnabled") == 1, "EAP without ExtendedAuthEnabled = 1")
            need(isinstance(ike.get("AuthName"), str), "EAP without AuthName")
        if auth == "Certificate":
            need(ike.get("PayloadCertificateUUID") in uuids, "PayloadCertificateUUID unknown")
        need(ike.get("DeadPeerDetectionRate") in ("None", "Low", "Medium", "High"), "DPD rate")
        for k in ("EnablePFS", "DisableMOBIKE", "DisableRedirect"):
            need(ike.get(k) in (0, 1), f"IKEv2.{k} is not 0/1")
        e, i, d = apple_params(ike.get("IKESecurityAssociationParameters"), "IKESA")
        ce, _, cd = apple_params(ike.get("ChildSecurityAssociationParameters"), "ChildSA")
        aead = "gcm" in e or "chacha" in e
        ike_prop = "-".join([e] + ([] if aead else [i]) + ["prf" + i, d])
        need("gcm" in ce or "chacha" in ce, "child cipher is not AEAD (braid's data plane)")
        esp_prop = ce + ("-" + cd if ike["EnablePFS"] == 1 else "")
        out = out or (ike_prop, esp_prop)
    return out


# Set-VpnConnectionIPsecConfiguration (Microsoft's VpnClient module): documented values.
PS_SETS = {
    "AuthenticationTransformConstants": {"MD596", "SHA196", "SHA256128", "GCMAES128",
                                         "GCMAES192", "GCMAES256", "None"},
    "CipherTransformConstants": {"DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128",
                                 "GCMAES192", "GCMAES256", "None"},
    "EncryptionMethod": {"DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128",
                         "GCMAES256"},
    "IntegrityCheckMethod": {"MD5", "SHA1", "SHA256", "SHA384"},
    "DHGroup": {"None", "Group1", "Group2", "Group14", "ECP256", "ECP384", "Group24"},
    "PfsGroup": {"None", "PFS1", "PFS2", "PFS2048", "ECP256", "ECP384", "PFSMM", "PFS24"},
}
PS_ENCR = {"AES128": "aes128", "AES256": "aes256", "GCMAES128": "aes128gcm16",
           "GCMAES256": "aes256gcm16"}
PS_HASH = {"SHA256": "sha256", "SHA384": "sha384"}
PS_DH = {"Group14": "modp2048", "ECP256": "ecp256", "ECP384": "ecp384"}
PS_PFS = {"None": "", "PFS2048": "modp2048", "ECP256": "ecp256", "ECP384": "ecp384"}


def ps_params(line):
    return dict(re.findall(r" -(\w+) ('[^']*'|\S+)", line))


def check_powershell(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    adds = [ps_params(l) for l in lines if l.startswith("Add-VpnConnection ")]
    sets = [ps_params(l) for l in lines if l.startswith("Set-VpnConnectionIPsecConfiguration ")]
    need(adds and len(adds) == len(sets), "Add-VpnConnection / Set-...IPsecConfiguration pairs")
    for a in adds:
        need(a.get("TunnelType") == "Ikev2", "TunnelType is not Ikev2")
        need(a.get("AuthenticationMethod") in ("Eap", "MachineCertificate"), "auth method")
        need(a.get("Name") and a.get("ServerAddress"), "Name / ServerAddress")
    need(any(l.startswith("Import-Certificate ") for l in lines), "no CA import")
    out = None
    for s in sets:
        for k, allowed in PS_SETS.items():
            need(s.get(k) in allowed, f"-{k} {s.get(k)!r} is not one of {sorted(allowed)}")
        for k, table in (("EncryptionMethod", PS_ENCR), ("IntegrityCheckMethod", PS_HASH),
                         ("DHGroup", PS_DH), ("CipherTransformConstants", PS_ENCR),
                         ("PfsGroup", PS_PFS)):
            need(s[k] in table, f"-{k} {s[k]} is documented but braid has no such algorithm")
        need(s["CipherTransformConstants"].startswith("GCM") and
             s["AuthenticationTransformConstants"] == s["CipherTransformConstants"],
             "ESP must be AES-GCM with the matching authentication transform")
        e, h = PS_ENCR[s["EncryptionMethod"]], PS_HASH[s["IntegrityCheckMethod"]]
        ike = "-".join([e] + ([] if "gcm" in e else [h]) + ["prf" + h, PS_DH[s["DHGroup"]]])
        pfs = PS_PFS[s["PfsGroup"]]
        esp = PS_ENCR[s["CipherTransformConstants"]] + ("-" + pfs if pfs else "")
        out = out or (ike, esp)
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("nm", "mobileconfig", "powershell"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    check = {"nm": check_nm, "mobileconfig": check_mobileconfig,
             "powershell": check_powershell}[sys.argv[1]]
    ike, esp = check(sys.argv[2])
    print(f"{ike} {esp}")


if __name__ == "__main__":
    main()
