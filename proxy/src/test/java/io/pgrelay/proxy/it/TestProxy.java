package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.PgRelayServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** A pgrelay started in the test JVM from a TOML text, on a free port. */
public final class TestProxy implements AutoCloseable {
    private final PgRelayServer server;

    private TestProxy(PgRelayServer server) {
        this.server = server;
    }

    /** {@code toml} may use {@code %PORT%} for pgrelay's own port. */
    public static TestProxy start(String toml) {
        int port = freePort();
        try {
            PgRelayConfig config = ConfigLoader.parse(toml.replace("%PORT%", Integer.toString(port)), "test.toml");
            return new TestProxy(PgRelayServer.start(config, 2));
        } catch (Exception e) {
            throw new IllegalStateException("could not start pgrelay: " + e.getMessage(), e);
        }
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The usual test config: pool "app" for user app/app (SCRAM) on the cluster, session mode. */
    public static String sessionConfig(LocalCluster cluster, int poolSize, String extraGeneral, String extraUsers) {
        return "[general]\n"
                + "host = \"127.0.0.1\"\n"
                + "port = %PORT%\n"
                + "connect_timeout = 3000\n"
                + extraGeneral + "\n"
                + "[pools.app]\n"
                + "pool_mode = \"session\"\n"
                + "[pools.app.users.0]\n"
                + "username = \"app\"\n"
                + "password = \"app\"\n"
                + "pool_size = " + poolSize + "\n"
                + extraUsers + "\n"
                + "[pools.app.shards.0]\n"
                + "database = \"app\"\n"
                + "servers = " + servers(cluster) + "\n";
    }

    public static String servers(LocalCluster cluster) {
        StringBuilder b = new StringBuilder("[");
        for (PgServer s : cluster.servers()) {
            if (b.length() > 1) {
                b.append(", ");
            }
            b.append("[\"127.0.0.1\", ").append(s.port()).append(", \"")
                    .append(s == cluster.primary() ? "primary" : "replica").append("\"]");
        }
        return b.append(']').toString();
    }

    public PgRelayServer server() {
        return server;
    }

    public int port() {
        return server.port();
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
    }

    public Connection connect(String user, String password) throws SQLException {
        return connect("app", user, password, new Properties());
    }

    public Connection connect(String database, String user, String password, Properties extra) throws SQLException {
        Properties p = new Properties();
        p.putAll(extra);
        p.setProperty("user", user);
        p.setProperty("password", password);
        return DriverManager.getConnection(jdbcUrl(database), p);
    }

    public String psqlUrl(String user, String password, String database) {
        return "postgresql://" + user + ":" + password + "@127.0.0.1:" + port() + "/" + database;
    }

    /** The usual @AfterAll: stops {@code proxy} if it started, then fails on any buffer leak Netty reported. */
    public static void stopAndCheckLeaks(TestProxy proxy) {
        if (proxy != null) {
            proxy.close();
        }
        LeakTracker.assertNoLeaks();
    }

    @Override
    public void close() {
        server.close();
    }
}
