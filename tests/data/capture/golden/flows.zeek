#separator \x09
#set_separator	,
#empty_field	(empty)
#unset_field	-
#path	conn
#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	duration	orig_bytes	resp_bytes	conn_state	local_orig	local_resp	missed_bytes	history	orig_pkts	orig_ip_bytes	resp_pkts	resp_ip_bytes	tunnel_parents	ip_proto	community_id
#types	time	string	addr	port	addr	port	enum	string	interval	count	count	string	bool	bool	count	string	count	count	count	count	set[string]	count	string
1700000003.000000	C6a99b4b1f77d	198.18.0.2	40007	198.18.0.1	22	tcp	SSH	0.300000	0	0	RSTO	-	-	0	ShAR	3	120	1	40	(empty)	6	1:Z8ke5qx6vE1/GJNLV7NGfwzRw5k=
1700000000.100000	C9e3779b97f4a	198.18.0.2	40000	198.18.0.1	80	tcp	HTTP	0.600000	48	40	SF	-	-	0	ShADdFf	5	248	3	160	(empty)	6	1:0dvoUAi44iHQFwwitBfoVDLuk+o=
1700000001.000000	C3c6ef372fe94	198.18.0.2	59210	198.18.0.1	53	udp	DNS	0.100000	30	46	SF	-	-	0	Dd	1	58	1	74	(empty)	17	1:phOydp0xATNEiJhtZo5xnosyfQ4=
1700000002.100000	C1715609f7c74	198.18.0.2	50000	198.18.0.1	53	udp	DNS	-	-	-	S0	-	-	0	D	1	63	0	0	(empty)	17	1:gq+1Eocegdnl3lBVOU7nOLn9N50=
1700000002.200000	Cb54cda58fbbe	2001:db8::2	50001	2001:db8::1	53	udp	DNS	-	-	-	S0	-	-	0	D	1	97	0	0	(empty)	17	1:WaIREowARn5gO3QjHtS/TOAxd40=
1700000002.700000	C2e2ac13ef8e8	198.18.0.2	40005	198.18.0.1	25	tcp	SMTP	-	-	-	S0	-	-	0	S	1	40	0	0	(empty)	6	1:QhV5ONKQqliotP0/mYBbuK+wP2I=
1700000003.500000	C08d12e6b76c8	198.18.0.2	40007	198.18.0.1	22	tcp	SSH	0.300000	0	0	RSTO	-	-	0	ShAR	3	120	1	40	(empty)	6	1:Z8ke5qx6vE1/GJNLV7NGfwzRw5k=
1700000004.000000	Ca708a824f612	198.18.0.2	40008	198.18.0.1	3389	tcp	RDP	0.100000	0	0	REJ	-	-	0	Sr	1	40	1	40	(empty)	6	1:UAB+ftna19/qooQmMYCAoTEhdK8=
1700000004.200000	C454021de755d	198.18.0.2	40009	198.18.0.1	6379	tcp	Redis	-	-	-	S0	-	-	0	S	1	40	0	0	(empty)	6	1:NJ2bUwksN2GvooB0VglTdKMKrck=
1700000002.000000	C78dde6e5fd29	0.0.0.0	68	255.255.255.255	67	udp	DHCP server	-	-	-	S0	-	-	0	D	1	272	0	0	(empty)	17	1:t9O1j0qj71O4wJM7gnaHtgmfev8=
1700000002.300000	C538454127b09	198.18.0.1	3	198.18.0.2	3	icmp	-	-	-	-	OTH	-	-	0	-	1	56	0	0	(empty)	1	1:7YNCVQGpwYuTwU0h2iOqlwy5xco=
1700000002.400000	Cf1bbcdcbfa53	2001:db8::2	128	2001:db8::1	129	icmp	-	-	-	-	OTH	-	-	0	-	1	48	0	0	(empty)	58	1:YDcnf7YthUKAbDNo6Cs3rX4jq4w=
1700000002.600000	C8ff34785799e	198.18.0.2	40004	198.18.0.1	123	udp	NTP	-	-	-	S0	-	-	0	D	1	76	0	0	(empty)	17	1:oloZcEDtmChkZuQWwhL+IYxpHLs=
1700000002.900000	Ccc623af87833	198.18.0.2	40006	198.18.0.1	5000	udp	commplex-main	-	-	-	S0	-	-	0	D	1	68	0	0	(empty)	17	1:p/k3Y++Crg0+HNBFsBDVug+8yIg=
1700000005.000000	Ce3779b97f4a7	198.18.0.2	40010	198.18.0.1	123	udp	NTP	150.010000	288	288	SF	-	-	0	Dd	6	456	6	456	(empty)	17	1:1wXP74DLyGCaGMS+M5esw3sh6oY=
1700000001.200000	Cdaa66d2c7ddf	198.18.0.2	40001	198.18.0.1	443	tcp	HTTPS	0.200000	80	0	S1	-	-	0	ShD	2	160	1	40	(empty)	6	1:I0ydZgcG1FMqiGFABbIxStUlyUo=
1700000255.000000	C81af155173f2	198.18.0.2	40010	198.18.0.1	123	udp	NTP	-	-	-	S0	-	-	0	D	1	76	0	0	(empty)	17	1:1wXP74DLyGCaGMS+M5esw3sh6oY=
