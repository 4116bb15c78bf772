package io.pgrelay.proxy.gss;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real MIT Kerberos KDC (Debian's krb5-kdc) for tests: a realm in a temporary directory, krb5kdc in the foreground
 * on a free loopback port, principals and keytabs made with kadmin.local. {@link #close} stops the KDC.
 */
public final class MitKdc implements AutoCloseable {
    public static final String REALM = "PGRELAY.TEST";
    private static final Path KRB5KDC = Path.of("/usr/sbin/krb5kdc");
    private static final Path KDB5_UTIL = Path.of("/usr/sbin/kdb5_util");
    private static final Path KADMIN_LOCAL = Path.of("/usr/sbin/kadmin.local");
    private static final Path KINIT = Path.of("/usr/bin/kinit");

    private final Path dir;
    private final int port;
    private Process kdc;

    private MitKdc(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Whether the MIT KDC and client tools are installed (apt-get install krb5-kdc krb5-admin-server krb5-user). */
    public static boolean available() {
        return Files.isExecutable(KRB5KDC) && Files.isExecutable(KDB5_UTIL) && Files.isExecutable(KADMIN_LOCAL)
                && Files.isExecutable(KINIT);
    }

    public static MitKdc start(Path dir) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        MitKdc k = new MitKdc(dir, port);
        k.init();
        return k;
    }

    private void init() throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Files.writeString(krb5Conf(), String.join("\n",
                "[libdefaults]",
                "  default_realm = " + REALM,
                "  dns_lookup_realm = false",
                "  dns_lookup_kdc = false",
                "  rdns = false",
                "  dns_canonicalize_hostname = false",
                "  udp_preference_limit = 1",
                "  forwardable = false",
                "[realms]",
                "  " + REALM + " = {",
                "    kdc = 127.0.0.1:" + port,
                "  }",
                "[domain_realm]",
                "  localhost = " + REALM,
                ""));
        Files.writeString(dir.resolve("kdc.conf"), String.join("\n",
                "[kdcdefaults]",
                "  kdc_ports = " + port,
                "  kdc_tcp_ports = " + port,
                "[realms]",
                "  " + REALM + " = {",
                "    database_name = " + dir.resolve("principal"),
                "    acl_file = " + dir.resolve("kadm5.acl"),
                "    key_stash_file = " + dir.resolve("stash"),
                "    kdc_ports = " + port,
                "    kdc_tcp_ports = " + port,
                "    max_life = 10h 0m 0s",
                "  }",
                "[logging]",
                "  kdc = FILE:" + dir.resolve("kdc.log"),
                ""));
        Files.writeString(dir.resolve("kadm5.acl"), "");
        run(List.of(KDB5_UTIL.toString(), "create", "-s", "-r", REALM, "-P", "master-password-for-tests"), null);
        ProcessBuilder pb = new ProcessBuilder(KRB5KDC.toString(), "-n", "-r", REALM)
                .redirectErrorStream(true).redirectOutput(dir.resolve("krb5kdc.out").toFile())
                .directory(dir.toFile());
        pb.environment().putAll(env());
        kdc = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException e) {
                if (!kdc.isAlive() || System.nanoTime() > deadline) {
                    close();
                    throw new IOException("krb5kdc did not start on port " + port + ": "
                            + Files.readString(dir.resolve("krb5kdc.out")), e);
                }
                Thread.sleep(100);
            }
        }
    }

    public Path krb5Conf() {
        return dir.resolve("krb5.conf");
    }

    /** KRB5_CONFIG and KRB5_KDC_PROFILE for MIT tools; add KRB5CCNAME for a client. */
    public Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("KRB5_CONFIG", krb5Conf().toString());
        env.put("KRB5_KDC_PROFILE", dir.resolve("kdc.conf").toString());
        return env;
    }

    public void addUser(String name, String password) throws IOException, InterruptedException {
        kadmin("addprinc -pw " + password + " " + name);
    }

    /** Adds a service principal with a random key and exports it to a new keytab; returns the keytab. */
    public Path addService(String name) throws IOException, InterruptedException {
        Path keytab = dir.resolve(name.replace('/', '_') + ".keytab");
        kadmin("addprinc -randkey " + name);
        kadmin("ktadd -k " + keytab + " " + name);
        return keytab;
    }

    /** kinit with a password into a new credentials cache; returns the environment a client needs. */
    public Map<String, String> ticket(String user, String password) throws IOException, InterruptedException {
        Path cache = dir.resolve("cc_" + user);
        Map<String, String> env = env();
        env.put("KRB5CCNAME", "FILE:" + cache);
        run(List.of(KINIT.toString(), user + "@" + REALM), password + "\n", env);
        return env;
    }

    private void kadmin(String query) throws IOException, InterruptedException {
        run(List.of(KADMIN_LOCAL.toString(), "-r", REALM, "-q", query), null);
    }

    private void run(List<String> cmd, String input) throws IOException, InterruptedException {
        run(cmd, input, env());
    }

    private void run(List<String> cmd, String input, Map<String, String> env)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true)
                .directory(dir.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (input != null) {
            p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    @Override
    public void close() {
        if (kdc != null && kdc.isAlive()) {
            kdc.destroy();
            try {
                if (!kdc.waitFor(5, TimeUnit.SECONDS)) {
                    kdc.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
