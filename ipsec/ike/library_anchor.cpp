// Keeps braid_ipsec_ike a valid library before and while its sources are added.
