/*
 * curated.c - the services people actually meet, in our own words.
 *
 * For each: the name people use, the aliases `portkit port NAME` accepts,
 * and one plain-language line saying what it is and when an exposed port is
 * a risk. The IANA name stays the registry's; this table adds what the
 * registry cannot say (8000/tcp is registered as irdmi, but is usually a
 * development web server). Sorted by first port, spans at most
 * CURATED_MAX_SPAN ports: the unit tests check both, lookups rely on them.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/vocab/registry.h"
#include "core/base/banned.h"

#define T PROTO_TCP
#define U PROTO_UDP
#define TU (PROTO_TCP | PROTO_UDP)
#define CURATED_MAX_SPAN 64

static const struct curated table[] = {
{ 7, 7, TU, "Echo", "echo",
  "Echo test service: returns whatever it receives. Obsolete; exposed UDP echo can be abused to reflect traffic." },
{ 9, 9, TU, "Discard", "discard",
  "Discard test service: swallows whatever it receives. Obsolete; turn it off." },
{ 13, 13, TU, "Daytime", "daytime",
  "Daytime: tells the time as text. Obsolete; exposed UDP daytime is a small reflection source." },
{ 17, 17, TU, "QOTD", "qotd quote",
  "Quote of the Day: obsolete; UDP QOTD is abused for amplification, turn it off." },
{ 19, 19, TU, "Chargen", "chargen",
  "Character generator test service. Obsolete; UDP chargen is a classic DDoS amplifier, never expose it." },
{ 20, 20, T, "FTP data", "ftp-data",
  "FTP's active-mode data channel: files and listings travel here in cleartext." },
{ 21, 21, T, "FTP", "ftp",
  "File Transfer Protocol control channel. User names, passwords and files cross in cleartext; prefer SFTP or FTPS." },
{ 22, 22, T, "SSH", "ssh sftp scp",
  "Secure Shell: encrypted remote login, SFTP and SCP. Exposed SSH draws constant password guessing: use keys, disable password login." },
{ 23, 23, T, "Telnet", "telnet",
  "Telnet remote login, all in cleartext including the password. Never expose it; use SSH." },
{ 25, 25, T, "SMTP", "smtp mail email",
  "Mail transfer between mail servers. Only a mail server needs it open; an open relay is abused for spam." },
{ 37, 37, TU, "Time", "time",
  "Old Time protocol (RFC 868), replaced by NTP. Turn it off." },
{ 43, 43, T, "WHOIS", "whois",
  "WHOIS directory lookups: who holds a domain or address block." },
{ 49, 49, TU, "TACACS+", "tacacs tacacs+",
  "TACACS+ authentication for network devices. Only the devices it serves should reach it." },
{ 53, 53, TU, "DNS", "dns",
  "Domain Name System: turns names into addresses. A resolver that answers the whole Internet is used for DDoS amplification." },
{ 67, 67, U, "DHCP server", "dhcp bootps",
  "DHCP server: hands out addresses on the local network. A rogue DHCP server can redirect a whole LAN." },
{ 68, 68, U, "DHCP client", "dhcp-client bootpc",
  "DHCP client side: where a host receives its address lease." },
{ 69, 69, U, "TFTP", "tftp",
  "Trivial FTP: file transfer with no authentication at all, used for network boot. Keep it on the boot network only." },
{ 79, 79, T, "Finger", "finger",
  "Finger: tells who is logged in. Leaks user names to attackers; turn it off." },
{ 80, 80, T, "HTTP", "http web www",
  "The web without encryption. Everything sent, passwords and cookies included, is readable on the way; redirect to HTTPS." },
{ 88, 88, TU, "Kerberos", "kerberos krb5",
  "Kerberos authentication (Active Directory domain controllers). Needed inside the domain, never from the Internet." },
{ 102, 102, T, "S7comm / ISO-TSAP", "s7 s7comm iso-tsap",
  "ISO transport used by Siemens S7 PLCs. Industrial control with no real authentication: never reachable from outside the plant network." },
{ 110, 110, T, "POP3", "pop3 pop email mail",
  "Mail download (POP3) in cleartext, passwords included. Use POP3S on 995." },
{ 111, 111, TU, "RPC portmapper", "rpcbind portmapper sunrpc",
  "Sun RPC portmapper (rpcbind): lists NFS and other RPC services. Exposed, it maps the host for attackers and amplifies UDP floods." },
{ 119, 119, T, "NNTP", "nntp usenet",
  "Usenet news transfer, cleartext." },
{ 123, 123, U, "NTP", "ntp",
  "Network Time Protocol. Servers that answer monlist or mode 6/7 queries from anywhere are DDoS amplifiers; restrict queries." },
{ 135, 135, TU, "MS RPC", "msrpc epmap rpc dcom",
  "Windows RPC endpoint mapper (DCOM, WMI, AD). A favourite of worms; never expose it beyond the internal network." },
{ 137, 137, U, "NetBIOS name service", "netbios-ns nbns netbios",
  "NetBIOS names on Windows networks. Leaks host and user names and can be spoofed; keep it off untrusted networks." },
{ 138, 138, U, "NetBIOS datagram", "netbios-dgm",
  "NetBIOS datagrams (Windows browsing). Local network only." },
{ 139, 139, T, "NetBIOS session (SMB)", "netbios-ssn",
  "SMB file sharing over NetBIOS. Same risks as SMB on 445: never expose it to the Internet." },
{ 143, 143, T, "IMAP", "imap imap4 email mail",
  "Mail access (IMAP), cleartext unless the client insists on STARTTLS. Prefer IMAPS on 993." },
{ 161, 161, U, "SNMP", "snmp",
  "Device monitoring. v1/v2c send the community string ('public') in cleartext and can leak or change configuration; use SNMPv3." },
{ 162, 162, U, "SNMP trap", "snmptrap snmp-trap",
  "Where devices send SNMP alerts to a monitoring server." },
{ 179, 179, T, "BGP", "bgp",
  "Border Gateway Protocol between routers. Only configured peers should reach it." },
{ 194, 194, T, "IRC", "irc",
  "Internet Relay Chat (rarely on this port; usually 6667)." },
{ 389, 389, TU, "LDAP", "ldap",
  "Directory (LDAP, Active Directory). Binds are cleartext without StartTLS and anonymous binds leak the directory; exposed UDP is an amplifier." },
{ 427, 427, TU, "SLP", "slp",
  "Service Location Protocol (VMware ESXi, printers). Exposed SLP has been exploited remotely and amplifies floods 2,000-fold." },
{ 443, 443, TU, "HTTPS", "https ssl tls quic",
  "The encrypted web: HTTP over TLS, and HTTP/3 over QUIC on UDP." },
{ 445, 445, T, "SMB", "smb cifs microsoft-ds samba windows-share file-sharing",
  "Windows file sharing (SMB). WannaCry spread through exposed SMB: never open it to the Internet." },
{ 464, 464, TU, "Kerberos password change", "kpasswd",
  "Kerberos password changes (Active Directory)." },
{ 465, 465, T, "SMTPS", "smtps submissions",
  "Mail submission over TLS from mail clients, with authentication." },
{ 500, 500, U, "IKE (IPsec)", "ike isakmp ipsec",
  "IPsec VPN key exchange. Expected on VPN gateways; aggressive mode can leak a crackable key hash." },
{ 502, 502, T, "Modbus", "modbus",
  "Modbus/TCP industrial control, no authentication: anyone who reaches it can read and write the controller." },
{ 512, 512, T, "rexec", "rexec",
  "BSD remote execution with a cleartext password. Obsolete; turn it off." },
{ 513, 513, T, "rlogin", "rlogin",
  "BSD remote login, cleartext and trusting host names. Obsolete; use SSH." },
{ 514, 514, T, "rsh", "rsh",
  "BSD remote shell with host-based trust and no encryption. Obsolete; use SSH." },
{ 514, 514, U, "Syslog", "syslog",
  "Log messages sent in cleartext and unauthenticated; anyone who reaches it can forge log lines." },
{ 515, 515, T, "LPD", "lpd printer",
  "Line printer daemon. Old and unauthenticated; keep it on the printing network." },
{ 520, 520, U, "RIP", "rip",
  "Routing Information Protocol. Spoofed updates can reroute traffic." },
{ 548, 548, T, "AFP", "afp",
  "Apple Filing Protocol (old macOS file sharing)." },
{ 554, 554, TU, "RTSP", "rtsp",
  "Streaming control for IP cameras and media servers. Cameras often ship with default passwords or none." },
{ 587, 587, T, "Mail submission", "submission smtp-submission email mail",
  "Mail clients sending mail, authenticated, upgraded with STARTTLS." },
{ 623, 623, U, "IPMI", "ipmi bmc",
  "Server baseboard management (IPMI/BMC): power and console control with known protocol flaws. Management network only." },
{ 631, 631, TU, "IPP / CUPS", "ipp cups printer printing",
  "Internet Printing Protocol (CUPS). Exposed cups-browsed allowed remote code execution in 2024; keep it local." },
{ 636, 636, T, "LDAPS", "ldaps",
  "LDAP over TLS." },
{ 853, 853, TU, "DNS over TLS", "dot dns-over-tls",
  "Encrypted DNS (DoT, and DNS over QUIC on UDP)." },
{ 873, 873, T, "rsync", "rsync",
  "rsync daemon. Modules without 'auth users' can be read, or written, by anyone who reaches it." },
{ 902, 902, T, "VMware ESXi", "vmware esxi",
  "VMware ESXi host management and console. Management network only." },
{ 990, 990, T, "FTPS", "ftps",
  "FTP over implicit TLS." },
{ 993, 993, T, "IMAPS", "imaps",
  "Mail access (IMAP) over TLS." },
{ 995, 995, T, "POP3S", "pop3s",
  "Mail download (POP3) over TLS." },
{ 1080, 1080, T, "SOCKS proxy", "socks proxy",
  "SOCKS proxy. Without authentication, an open proxy lets anyone relay traffic through this host." },
{ 1099, 1099, T, "Java RMI registry", "rmi java-rmi",
  "Java RMI registry. Exposed RMI has a long record of remote code execution by deserialization." },
{ 1194, 1194, TU, "OpenVPN", "openvpn",
  "OpenVPN tunnels. Expected on a VPN server." },
{ 1433, 1433, T, "MS SQL Server", "mssql sqlserver sql-server database db",
  "Microsoft SQL Server. A database port should not face the Internet: password guessing and data theft." },
{ 1434, 1434, U, "MS SQL Browser", "mssql-browser sql-browser",
  "SQL Server Browser: lists instances. Exposed, it leaks the database layout and amplifies UDP floods." },
{ 1521, 1521, T, "Oracle DB", "oracle tns oracle-db",
  "Oracle database listener (TNS). A database port should not face the Internet." },
{ 1701, 1701, U, "L2TP", "l2tp",
  "L2TP VPN tunnels, normally inside IPsec." },
{ 1723, 1723, T, "PPTP", "pptp",
  "PPTP VPN, whose encryption is broken. Replace it with WireGuard, OpenVPN or IPsec." },
{ 1812, 1812, U, "RADIUS", "radius",
  "RADIUS authentication for VPNs and Wi-Fi. Only the access devices should reach it." },
{ 1813, 1813, U, "RADIUS accounting", "radius-acct",
  "RADIUS accounting records." },
{ 1883, 1883, T, "MQTT", "mqtt",
  "MQTT messaging for IoT, cleartext and often without authentication: anyone can read and publish. Use 8883 with TLS and passwords." },
{ 1900, 1900, U, "SSDP / UPnP", "ssdp upnp",
  "UPnP device discovery. Exposed SSDP is a major DDoS amplifier and UPnP can open router ports; local network only." },
{ 1935, 1935, T, "RTMP", "rtmp",
  "Real-Time Messaging Protocol for live video streaming." },
{ 2049, 2049, TU, "NFS", "nfs",
  "Network File System. Exports trust client addresses, not users; never reachable from untrusted networks." },
{ 2152, 2152, U, "GTP-U", "gtp-u gtpu gtp",
  "GTP user plane: mobile subscribers' IP packets between the radio network and the core. Belongs on operator links only." },
{ 2181, 2181, T, "ZooKeeper", "zookeeper zk",
  "Apache ZooKeeper. No authentication by default: anyone who reaches it can read and change cluster state." },
{ 2222, 2222, T, "SSH (alternate)", "ssh-alt",
  "A common alternate SSH port. Moving SSH here cuts log noise, not risk." },
{ 2375, 2375, T, "Docker API", "docker docker-api",
  "Docker Engine API without TLS: no authentication, and control of Docker is root on the host. Never expose it." },
{ 2376, 2376, T, "Docker API (TLS)", "docker-tls",
  "Docker Engine API with TLS client certificates." },
{ 2379, 2379, T, "etcd", "etcd",
  "etcd client API: Kubernetes' database, secrets included. Require client certificates; never expose it." },
{ 2380, 2380, T, "etcd peer", "etcd-peer",
  "etcd cluster members talking to each other. Cluster network only." },
{ 3000, 3000, T, "Dev server / Grafana", "grafana dev-server",
  "Registered for other uses, but usually a development web server (Node, React, Rails) or Grafana. Dev servers are not hardened: bind them to loopback." },
{ 3128, 3128, T, "Squid proxy", "squid http-proxy",
  "HTTP proxy (Squid). An open proxy relays anyone's traffic through this host." },
{ 3260, 3260, T, "iSCSI", "iscsi",
  "iSCSI block storage. Unauthenticated targets hand out whole disks; storage network only." },
{ 3268, 3268, T, "AD Global Catalog", "global-catalog gc",
  "Active Directory Global Catalog (LDAP). Internal network only." },
{ 3306, 3306, T, "MySQL", "mysql mariadb database db",
  "MySQL / MariaDB database. A database port should not face the Internet: bind it to loopback or a private address." },
{ 3389, 3389, TU, "RDP", "rdp remote-desktop mstsc terminal-server",
  "Remote Desktop Protocol: Windows remote desktop. Exposed RDP is a leading ransomware entry point; put it behind a VPN." },
{ 3478, 3478, TU, "STUN / TURN", "stun turn",
  "NAT traversal for WebRTC and VoIP. An open TURN relay can be used to reach internal addresses." },
{ 3544, 3544, U, "Teredo", "teredo",
  "Teredo: IPv6 tunnelled in UDP through NAT. It bypasses IPv4 firewall rules; disable it where IPv6 is not wanted." },
{ 3690, 3690, T, "Subversion", "svn subversion",
  "Subversion repository server (svnserve)." },
{ 4222, 4222, T, "NATS", "nats",
  "NATS messaging. Without configured authentication anyone can publish and subscribe." },
{ 4317, 4317, T, "OTLP gRPC", "otlp otel opentelemetry",
  "OpenTelemetry collector (gRPC). Accepts telemetry from anyone who reaches it." },
{ 4318, 4318, T, "OTLP HTTP", "otlp-http",
  "OpenTelemetry collector (HTTP)." },
{ 4369, 4369, T, "Erlang port mapper", "epmd erlang",
  "Erlang node discovery (RabbitMQ, CouchDB clusters). With a guessed cookie it gives code execution; cluster network only." },
{ 4444, 4444, T, "Metasploit default", "metasploit",
  "Default port of Metasploit reverse shells. A listener here deserves a look." },
{ 4500, 4500, U, "IPsec NAT-T", "ipsec-nat-t nat-t",
  "IPsec through NAT (ESP in UDP). Expected on VPN gateways." },
{ 4754, 4754, U, "GRE in UDP", "gre-in-udp",
  "GRE tunnels carried in UDP (RFC 8086). Unauthenticated: accept it only from the tunnel's peers." },
{ 4789, 4789, U, "VXLAN", "vxlan",
  "VXLAN overlay networks. Unauthenticated: anyone who reaches it can inject packets into the overlay." },
{ 5000, 5000, T, "Dev server / registry", "flask docker-registry",
  "Registered for other uses, but usually a Flask dev server, a Docker registry or macOS AirPlay. Dev servers are not hardened." },
{ 5004, 5005, U, "RTP", "rtp",
  "Real-time media streams (voice, video)." },
{ 5044, 5044, T, "Logstash Beats", "logstash beats",
  "Logstash input for Beats shippers." },
{ 5060, 5060, TU, "SIP", "sip voip",
  "VoIP call signalling. Exposed SIP is scanned constantly for toll fraud; restrict it to your providers." },
{ 5061, 5061, T, "SIP over TLS", "sips sip-tls",
  "VoIP call signalling over TLS." },
{ 5072, 5072, U, "AYIYA", "ayiya",
  "Anything In Anything: IPv6 tunnel-broker traffic in UDP. A tunnel past the firewall; rarely wanted today." },
{ 5222, 5222, T, "XMPP", "xmpp jabber",
  "XMPP (Jabber) chat clients." },
{ 5353, 5353, U, "mDNS", "mdns bonjour avahi",
  "Multicast DNS (Bonjour, Avahi) for the local network. Answering off-link queries leaks host details and amplifies floods." },
{ 5355, 5355, U, "LLMNR", "llmnr",
  "Windows link-local name resolution. Spoofed answers capture credentials; disable it where possible." },
{ 5432, 5432, T, "PostgreSQL", "postgres postgresql psql database db",
  "PostgreSQL database. A database port should not face the Internet: bind it to loopback or a private address." },
{ 5555, 5555, T, "Android Debug Bridge", "adb android",
  "Android Debug Bridge over the network: a shell on the device for anyone who reaches it." },
{ 5601, 5601, T, "Kibana", "kibana",
  "Kibana dashboards for Elasticsearch. Without security enabled anyone can read the data." },
{ 5671, 5671, T, "AMQPS", "amqps",
  "AMQP messaging over TLS (RabbitMQ)." },
{ 5672, 5672, T, "AMQP / RabbitMQ", "amqp rabbitmq",
  "AMQP messaging (RabbitMQ). The default guest account is limited to loopback; do not lift that." },
{ 5683, 5683, U, "CoAP", "coap",
  "Constrained Application Protocol for IoT. Exposed CoAP amplifies UDP floods." },
{ 5800, 5800, T, "VNC over HTTP", "vnc-http",
  "VNC's web viewer." },
{ 5900, 5909, T, "VNC", "vnc rfb",
  "VNC remote desktop (display :N on 5900+N). Weak passwords, often unencrypted; tunnel it through SSH or a VPN." },
{ 5938, 5938, T, "TeamViewer", "teamviewer",
  "TeamViewer remote control." },
{ 5984, 5984, T, "CouchDB", "couchdb",
  "CouchDB database HTTP API. Old versions start with no admin; never expose it." },
{ 5985, 5985, T, "WinRM", "winrm",
  "Windows Remote Management over HTTP: PowerShell remoting. Internal management only." },
{ 5986, 5986, T, "WinRM (HTTPS)", "winrm-https",
  "Windows Remote Management over HTTPS." },
{ 6000, 6063, T, "X11", "x11 x-window",
  "X Window System display server. An open X server lets anyone see the screen and type keystrokes; use SSH X forwarding." },
{ 6081, 6081, U, "Geneve", "geneve",
  "Geneve overlay networks (cloud and SDN). Unauthenticated like VXLAN: only the overlay's hosts should reach it." },
{ 6379, 6379, T, "Redis", "redis",
  "Redis in-memory database. No authentication by default; exposed Redis is routinely turned into remote code execution." },
{ 6443, 6443, T, "Kubernetes API", "kubernetes k8s kube-apiserver",
  "Kubernetes API server: control of the whole cluster. Restrict who can reach it, even with authentication on." },
{ 6514, 6514, T, "Syslog over TLS", "syslog-tls",
  "Log messages over TLS." },
{ 6667, 6667, T, "IRC", "irc",
  "Internet Relay Chat. Also used by botnets for command and control: an unexpected listener here deserves a look." },
{ 6881, 6889, TU, "BitTorrent", "bittorrent torrent",
  "BitTorrent peers." },
{ 7001, 7001, T, "WebLogic", "weblogic",
  "Oracle WebLogic server. A long list of remote code execution flaws; never expose the admin console." },
{ 7474, 7474, T, "Neo4j", "neo4j",
  "Neo4j graph database web interface." },
{ 7687, 7687, T, "Neo4j Bolt", "bolt",
  "Neo4j database protocol (Bolt)." },
{ 8000, 8000, T, "HTTP (dev server)", "http-dev",
  "Registered for irdmi, but usually a development or alternate web server (python -m http.server, Django), often without authentication." },
{ 8001, 8001, T, "kubectl proxy", "kubectl-proxy",
  "Default port of kubectl proxy: full Kubernetes API access with the user's credentials. Loopback only." },
{ 8006, 8006, T, "Proxmox VE", "proxmox",
  "Proxmox virtualization web console. Management network only." },
{ 8008, 8008, T, "HTTP (alternate)", "http-alt2",
  "An alternate web port." },
{ 8009, 8009, T, "AJP", "ajp",
  "Apache JServ Protocol between a web server and Tomcat. Exposed AJP allowed file reads (Ghostcat); loopback only." },
{ 8080, 8080, T, "HTTP (alternate)", "http-alt http-proxy tomcat",
  "The usual alternate web port: Tomcat, Jenkins, proxies, dev servers. Often admin interfaces that should not be public." },
{ 8081, 8081, T, "HTTP (alternate)", "http-alt3",
  "Another alternate web port (Nexus, admin consoles)." },
{ 8086, 8086, T, "InfluxDB", "influxdb influx",
  "InfluxDB time-series database HTTP API." },
{ 8088, 8088, T, "Hadoop YARN", "yarn hadoop",
  "Hadoop YARN resource manager. Unauthenticated by default and abused to run miners." },
{ 8123, 8123, T, "Home Assistant", "home-assistant",
  "Home Assistant web interface." },
{ 8125, 8125, U, "StatsD", "statsd",
  "StatsD metrics, unauthenticated UDP." },
{ 8200, 8200, T, "Vault", "vault",
  "HashiCorp Vault API: the secrets store." },
{ 8291, 8291, T, "MikroTik Winbox", "winbox",
  "MikroTik router management. Exposed Winbox was mass-exploited; management network only." },
{ 8333, 8333, T, "Bitcoin", "bitcoin",
  "Bitcoin peer-to-peer network." },
{ 8443, 8443, T, "HTTPS (alternate)", "https-alt",
  "The usual alternate HTTPS port: admin consoles, Tomcat, Kubernetes dashboards." },
{ 8500, 8500, T, "Consul", "consul",
  "HashiCorp Consul HTTP API. Without ACLs it can register services that run commands." },
{ 8883, 8883, T, "MQTT over TLS", "mqtts secure-mqtt",
  "MQTT messaging over TLS." },
{ 8888, 8888, T, "Jupyter / HTTP alternate", "jupyter",
  "Often Jupyter notebooks: code execution for whoever has the token; loopback only." },
{ 9000, 9000, T, "PHP-FPM / app server", "php-fpm fastcgi",
  "Often PHP-FPM (FastCGI), SonarQube or MinIO. Exposed FastCGI lets anyone run PHP code; loopback only." },
{ 9042, 9042, T, "Cassandra", "cassandra cql",
  "Apache Cassandra native protocol. Default setups have no authentication." },
{ 9090, 9090, T, "Prometheus / Cockpit", "prometheus cockpit",
  "Prometheus server (or Cockpit on Red Hat-like systems). Prometheus has no authentication and reveals your whole infrastructure." },
{ 9092, 9092, T, "Kafka", "kafka",
  "Apache Kafka broker. Plaintext listeners have no authentication." },
{ 9093, 9093, T, "Alertmanager", "alertmanager",
  "Prometheus Alertmanager. No authentication by default." },
{ 9100, 9100, T, "Node exporter / JetDirect", "node-exporter jetdirect printer",
  "Prometheus node exporter metrics, or raw printing to a printer (JetDirect). Both unauthenticated." },
{ 9200, 9200, T, "Elasticsearch", "elasticsearch elastic opensearch",
  "Elasticsearch / OpenSearch HTTP API. Old defaults had no authentication and leaked billions of records." },
{ 9300, 9300, T, "Elasticsearch transport", "elasticsearch-transport",
  "Elasticsearch node-to-node transport. Cluster network only." },
{ 9418, 9418, T, "Git", "git",
  "Git daemon: read-only, unauthenticated repository access." },
{ 10000, 10000, T, "Webmin", "webmin",
  "Registered for NDMP backups, but usually Webmin, a root web console for the server." },
{ 10050, 10050, T, "Zabbix agent", "zabbix-agent",
  "Zabbix monitoring agent; only the Zabbix server should reach it." },
{ 10051, 10051, T, "Zabbix server", "zabbix zabbix-server",
  "Zabbix server receiving agent data." },
{ 10250, 10250, T, "Kubelet API", "kubelet",
  "Kubernetes node agent API. With anonymous auth on, it runs commands in any pod on the node." },
{ 10255, 10255, T, "Kubelet read-only", "kubelet-readonly",
  "Kubernetes kubelet read-only API: no authentication, reveals every pod and its configuration. Disable it." },
{ 11211, 11211, TU, "Memcached", "memcached",
  "Memcached cache: no authentication. Exposed UDP memcached was the largest DDoS amplifier ever seen (51,000x)." },
{ 11434, 11434, T, "Ollama", "ollama",
  "Ollama language-model API, unauthenticated. Loopback only." },
{ 15672, 15672, T, "RabbitMQ management", "rabbitmq-management",
  "RabbitMQ management web console." },
{ 16686, 16686, T, "Jaeger UI", "jaeger",
  "Jaeger tracing web interface, unauthenticated." },
{ 20000, 20000, T, "DNP3", "dnp3",
  "DNP3 utility SCADA protocol. Never reachable from outside the control network." },
{ 25565, 25565, T, "Minecraft", "minecraft",
  "Minecraft Java Edition server." },
{ 27015, 27015, TU, "Steam game server", "steam srcds",
  "Source engine / Steam game servers." },
{ 27017, 27017, T, "MongoDB", "mongodb mongo database db",
  "MongoDB database. Old defaults listened everywhere with no authentication; many were wiped for ransom." },
{ 27018, 27018, T, "MongoDB shard", "mongodb-shard",
  "MongoDB shard server." },
{ 31337, 31337, TU, "Back Orifice", "back-orifice elite",
  "Historic backdoor port ('elite'). A listener here deserves a look." },
{ 44818, 44818, TU, "EtherNet/IP", "enip ethernet-ip",
  "Industrial EtherNet/IP (CIP) for PLCs. Never reachable from outside the control network." },
{ 47808, 47808, U, "BACnet", "bacnet",
  "Building automation (BACnet). No authentication; never reachable from the Internet." },
{ 50070, 50070, T, "HDFS NameNode UI", "hdfs namenode",
  "Hadoop HDFS NameNode web interface. Unauthenticated by default." },
{ 51820, 51820, U, "WireGuard", "wireguard wg",
  "WireGuard VPN. Stays silent to anyone without a valid key, so scanners cannot see it." },
{ 61616, 61616, T, "ActiveMQ", "activemq",
  "Apache ActiveMQ broker. Old versions allow remote code execution (CVE-2023-46604); restrict access." },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

size_t curated_count(void)
{
	return NTABLE;
}

const struct curated *curated_entry(size_t i)
{
	return i < NTABLE ? &table[i] : NULL;
}

const struct curated *curated_at(uint16_t port, unsigned proto)
{
	size_t lo = 0, hi = NTABLE;

	/* first entry starting after port, then back over the few that may cover it */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table[mid].lo <= port)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo-- > 0) {
		const struct curated *c = &table[lo];

		if ((unsigned)port - c->lo > CURATED_MAX_SPAN)
			break;
		if (port <= c->hi && (c->protos & proto))
			return c;
	}
	return NULL;
}

static int word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	while (*list) {
		size_t k = strcspn(list, " ");

		if (k == n && !strncasecmp(list, w, n))
			return 1;
		list += k;
		list += strspn(list, " ");
	}
	return 0;
}

size_t curated_by_alias(const char *s, const struct curated **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < NTABLE; i++) {
		if (strcasecmp(table[i].name, s) && !word_in(table[i].aliases, s))
			continue;
		if (n < max)
			out[n] = &table[i];
		n++;
	}
	return n;
}
