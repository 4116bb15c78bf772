package io.pgrelay.docker;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * One PostgreSQL server as the compose file describes it (a service with its volume and environment), made by the
 * image's scripts in a local directory instead: the environment of {@code docker/postgres/bin/*} for this node.
 */
final class Node {
    static final String SUPERUSER = "postgres";
    static final String SUPERUSER_PASSWORD = "it-superuser-pw";
    static final String REPLICATION_PASSWORD = "it-replication-pw";
    static final String APP_USER = "app";
    /** The development default of .env.example, which docker/pgrelay/pgrelay.toml uses as well. */
    static final String APP_PASSWORD = "app";
    static final String APP_DB = "app";
    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

    final String name;
    final int port;
    final Path dataDir;
    final Path sockDir;
    final Path tlsDir;
    final Path log;
    /** The environment every script gets for this node; tests change PG_ROLE and PG_PRIMARY_* as an operator would. */
    final Map<String, String> env = new LinkedHashMap<>();
    Process server;

    Node(String name, int port, Path base) {
        this.name = name;
        this.port = port;
        this.dataDir = base.resolve("data-" + name);
        this.sockDir = base.resolve("sock-" + name);
        this.tlsDir = base.resolve("tls-" + name);
        this.log = base.resolve(name + ".log");
        env.put("PGDATA", dataDir.toString());
        env.put("PG_NODE_NAME", name);
        env.put("PG_PORT", Integer.toString(port));
        env.put("PG_LISTEN_ADDRESSES", "127.0.0.1");
        env.put("PG_SOCKET_DIR", sockDir.toString());
        env.put("PG_TLS_DIR", tlsDir.toString());
        // nothing is mounted at the image's default /certs here; the TLS test points these at its own files
        env.put("PG_TLS_CERT_FILE", base.resolve("no-certs/server.crt").toString());
        env.put("PG_TLS_KEY_FILE", base.resolve("no-certs/server.key").toString());
        env.put("PG_BACKUP_DIR", base.resolve("backups").toString());
        env.put("POSTGRES_PASSWORD", SUPERUSER_PASSWORD);
        env.put("PG_REPLICATION_PASSWORD", REPLICATION_PASSWORD);
        env.put("APP_PASSWORD", APP_PASSWORD);
        env.put("PG_WAIT_TIMEOUT", "60");
        // a throwaway cluster: skip the fsyncs (full_page_writes stays on: pg_rewind needs it)
        env.put("PG_INITDB_ARGS", "--no-sync --encoding=UTF8 --locale=C.UTF-8");
        env.put("PG_EXTRA_CONF", "fsync = off\nshared_buffers = '32MB'\nmax_connections = 50");
    }

    /** Makes this node stream from {@code upstream}, as PG_PRIMARY_HOST/PORT do in compose.yaml. */
    Node following(Node upstream) {
        env.put("PG_PRIMARY_HOST", "127.0.0.1");
        env.put("PG_PRIMARY_PORT", Integer.toString(upstream.port));
        return this;
    }

    Node role(String role) {
        env.put("PG_ROLE", role);
        return this;
    }

    Connection connect(String db) throws SQLException {
        return connect(db, SUPERUSER, SUPERUSER_PASSWORD, "disable");
    }

    Connection connect(String db, String user, String password, String sslmode) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("sslmode", sslmode);
        p.setProperty("gssEncMode", "disable");
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "60");
        return DRIVER.connect("jdbc:postgresql://127.0.0.1:" + port + "/" + db, p);
    }

    /** Every row of a query on database postgres, values as text. */
    List<List<String>> query(String sql) throws SQLException {
        return query("postgres", sql);
    }

    List<List<String>> query(String db, String sql) throws SQLException {
        try (Connection c = connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            List<List<String>> rows = new ArrayList<>();
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    row.add(rs.getString(i));
                }
                rows.add(Collections.unmodifiableList(row));
            }
            return rows;
        }
    }

    /** The single value of a query. */
    String value(String sql) throws SQLException {
        return value("postgres", sql);
    }

    String value(String db, String sql) throws SQLException {
        List<List<String>> rows = query(db, sql);
        if (rows.size() != 1 || rows.get(0).size() != 1) {
            throw new IllegalStateException("expected one value from " + sql + ", got " + rows);
        }
        return rows.get(0).get(0);
    }

    void execute(String db, String sql) throws SQLException {
        try (Connection c = connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    boolean inRecovery() throws SQLException {
        return value("SELECT pg_is_in_recovery()").equals("t");
    }

    String tail() throws IOException {
        return Scripts.tail(log);
    }

    @Override
    public String toString() {
        return name + "@127.0.0.1:" + port;
    }
}
