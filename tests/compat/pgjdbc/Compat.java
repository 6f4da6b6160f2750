import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.*;
import java.util.*;

/** pgjdbc (Debian libpostgresql-jdbc-java) through the Sequin proxy. Prints "N passed, N failed". */
public class Compat {
    static int passed = 0, failed = 0;
    static final String PROXY = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("PGPORT") + "/" + System.getenv("PGDATABASE");
    static final String DIRECT = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("DIRECT_PORT") + "/" + System.getenv("PGDATABASE");

    interface Case { void run() throws Exception; }

    static void check(String name, Case c) {
        try { c.run(); passed++; System.out.println("ok - " + name); }
        catch (Throwable t) { failed++; System.out.println("not ok - " + name); System.out.println("# " + t); }
    }

    static void assertTrue(boolean b, String what) { if (!b) throw new AssertionError(what); }

    static Connection proxy(Properties extra) throws SQLException {
        var p = new Properties();
        p.setProperty("user", System.getenv("PGUSER"));
        p.setProperty("password", System.getenv("PGPASSWORD"));
        p.setProperty("sslmode", "disable");
        p.putAll(extra);
        return DriverManager.getConnection(PROXY, p);
    }

    static Connection proxy() throws SQLException { return proxy(new Properties()); }

    static Connection direct() throws SQLException {
        return DriverManager.getConnection(DIRECT, System.getenv("DIRECT_USER"), System.getenv("DIRECT_PASSWORD"));
    }

    static String upstream(String object) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(System.getenv("UPSTREAM_URL") + "/upstream/" + object)).build();
        return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    static String unique(String prefix) { return prefix + "-" + UUID.randomUUID().toString().substring(0, 8); }

    public static void main(String[] args) throws Exception {
        check("reads and TLS", () -> {
            var p = new Properties();
            p.setProperty("sslmode", "require");
            try (var c = proxy(p); var s = c.createStatement(); var rs = s.executeQuery("select current_user")) {
                rs.next();
                assertTrue(rs.getString(1).equals(System.getenv("BACKEND_ROLE")), "current_user");
            }
        });

        check("prepared statement reused past prepareThreshold (server-side S_n)", () -> {
            try (var c = proxy(); var ps = c.prepareStatement("select ?::int * 2")) {
                for (int i = 0; i < 10; i++) {
                    ps.setInt(1, i);
                    try (var rs = ps.executeQuery()) { rs.next(); assertTrue(rs.getInt(1) == i * 2, "value"); }
                }
            }
        });

        check("executeUpdate insert is protocol-exact (count 1, no rows)", () -> {
            var name = unique("Ix");
            try (var c = proxy(); var ps = c.prepareStatement("insert into salesforce.account (name) values (?)")) {
                for (int i = 0; i < 7; i++) {
                    ps.setString(1, name + "-" + i);
                    assertTrue(ps.executeUpdate() == 1, "update count");
                }
            }
            try (var d = direct(); var s = d.prepareStatement("select id from salesforce.account where name = ?")) {
                s.setString(1, name + "-6");
                try (var rs = s.executeQuery()) {
                    rs.next();
                    var id = rs.getString(1);
                    assertTrue(id.startsWith("001"), "upstream id in database: " + id);
                    assertTrue(upstream("Account").contains("\"" + id + "\""), "upstream has " + id);
                }
            }
        });

        check("getGeneratedKeys returns the upstream id", () -> {
            try (var c = proxy(); var ps = c.prepareStatement("insert into salesforce.contact (last_name, email) values (?, ?)", new String[] {"id"})) {
                ps.setString(1, "Gurney");
                ps.setString(2, unique("gurney") + "@caladan.io");
                assertTrue(ps.executeUpdate() == 1, "count");
                try (var keys = ps.getGeneratedKeys()) {
                    keys.next();
                    var id = keys.getString(1);
                    assertTrue(id.matches("003[0-9A-Za-z]{15}"), "generated key " + id);
                    assertTrue(upstream("Contact").contains("\"" + id + "\""), "upstream has it");
                }
            }
        });

        check("executeBatch of inserts", () -> {
            var name = unique("Batch");
            try (var c = proxy(); var ps = c.prepareStatement("insert into salesforce.account (name) values (?)")) {
                for (int i = 0; i < 5; i++) { ps.setString(1, name); ps.addBatch(); }
                var counts = ps.executeBatch();
                assertTrue(counts.length == 5 && Arrays.stream(counts).allMatch(n -> n == 1 || n == Statement.SUCCESS_NO_INFO), Arrays.toString(counts));
            }
            try (var d = direct(); var s = d.prepareStatement("select count(*) from salesforce.account where name = ?")) {
                s.setString(1, name);
                try (var rs = s.executeQuery()) { rs.next(); assertTrue(rs.getInt(1) == 5, "5 rows in the database"); }
            }
            assertTrue(upstream("Account").split(name, -1).length - 1 == 5, "5 rows upstream");
        });

        check("rejected write: SQLState, detail, column", () -> {
            try (var c = proxy(); var ps = c.prepareStatement("insert into salesforce.contact (last_name, email) values (?, ?)")) {
                ps.setString(1, "Dune");
                ps.setString(2, "pauldune.co");
                ps.executeUpdate();
                throw new AssertionError("expected an error");
            } catch (org.postgresql.util.PSQLException e) {
                var m = e.getServerErrorMessage();
                assertTrue("23514".equals(e.getSQLState()), "sqlstate " + e.getSQLState());
                assertTrue(m.getMessage().startsWith("[Salesforce] validation error"), m.getMessage());
                assertTrue("Key (email)=(pauldune.co) is not a valid email address.".equals(m.getDetail()), m.getDetail());
                assertTrue("email".equals(m.getColumn()) && "contact".equals(m.getTable()) && "salesforce".equals(m.getSchema()), "fields");
            }
        });

        check("transaction: commit keeps, rejection aborts until rollback", () -> {
            var name = unique("Tx");
            try (var c = proxy()) {
                c.setAutoCommit(false);
                try (var ps = c.prepareStatement("insert into salesforce.account (name) values (?)")) { ps.setString(1, name); ps.executeUpdate(); }
                try (var ps = c.prepareStatement("update salesforce.account set name = ? where name = ?")) {
                    ps.setString(1, name + "-2"); ps.setString(2, name);
                    assertTrue(ps.executeUpdate() == 1, "update count");
                }
                c.commit();
                try (var s = c.createStatement()) {
                    try { s.executeUpdate("insert into salesforce.contact (last_name, email) values ('x', 'bad')"); throw new AssertionError("expected error"); }
                    catch (SQLException e) { assertTrue("23514".equals(e.getSQLState()), e.getSQLState()); }
                    try { s.executeQuery("select 1"); throw new AssertionError("expected 25P02"); }
                    catch (SQLException e) { assertTrue("25P02".equals(e.getSQLState()), e.getSQLState()); }
                }
                c.rollback();
                c.setAutoCommit(true);
                try (var s = c.createStatement(); var rs = s.executeQuery("select count(*) from salesforce.account where name = '" + name + "-2'")) {
                    rs.next(); assertTrue(rs.getInt(1) == 1, "committed row");
                }
            }
            assertTrue(upstream("Account").contains(name + "-2"), "upstream has the committed update");
        });

        check("rollback after a write warns", () -> {
            try (var c = proxy()) {
                c.setAutoCommit(false);
                try (var s = c.createStatement()) { s.executeUpdate("insert into salesforce.account (name) values ('" + unique("Rb") + "')"); }
                c.rollback();
                var w = c.getWarnings();
                assertTrue(w != null && w.getMessage().contains("ROLLBACK did not undo"), "warning: " + w);
            }
        });

        check("database and upstream agree on contacts", () -> {
            // The sync runs alongside the proxy; a record it read just before a write converges on its next poll.
            int db = -1, n = -2;
            for (var deadline = System.nanoTime() + 15_000_000_000L; db != n && System.nanoTime() < deadline; Thread.sleep(250)) {
                try (var d = direct(); var s = d.createStatement(); var rs = s.executeQuery("select count(*) from salesforce.contact")) {
                    rs.next();
                    db = rs.getInt(1);
                }
                n = upstream("Contact").split("\"Id\":\"003").length - 1;
            }
            assertTrue(db == n, "db " + db + " upstream " + n);
        });

        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
