package io.pgrelay.proxy.health;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConninfoTest {
    @Test
    void hostAndPortAreReplacedAndTheRestKept() {
        // As pg_basebackup -R writes it.
        String in = "user=replicator passfile='/var/lib/postgresql/.pgpass' channel_binding=prefer host=10.0.0.1 "
                + "hostaddr=10.0.0.1 port=5432 application_name=standby2 sslmode=prefer";
        assertThat(Conninfo.withHostPort(in, "127.0.0.1", 5433)).isEqualTo("user='replicator' "
                + "passfile='/var/lib/postgresql/.pgpass' channel_binding='prefer' application_name='standby2' "
                + "sslmode='prefer' host='127.0.0.1' port=5433");
    }

    @Test
    void quotedValuesWithSpacesAndEscapesRoundTrip() {
        String out = Conninfo.withHostPort("user = 'a b' password='x\\'y' port = 1", "h", 2);
        assertThat(out).isEqualTo("user='a b' password='x\\'y' host='h' port=2");
        assertThat(Conninfo.parse(out).get(1)).containsExactly("password", "x'y");
    }

    @Test
    void brokenStringsAreRefused() {
        assertThatThrownBy(() -> Conninfo.parse("user")).hasMessageContaining("missing \"=\" after \"user\"");
        assertThatThrownBy(() -> Conninfo.parse("user='x")).hasMessageContaining("unterminated");
    }
}
