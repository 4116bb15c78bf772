package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class Md5PasswordTest {
    private static final byte[] SALT = {1, 2, 3, 4};

    @Test
    void hashMatchesPostgres() {
        // PostgreSQL 15 wrote this for CREATE ROLE app PASSWORD 'app' with password_encryption=md5;
        // python3: 'md5' + md5(b'appapp').hexdigest() agrees.
        assertThat(Md5Password.hash("app", "app")).isEqualTo("md5fe63fea7be31b0200b496d08bc6b517d");
    }

    @Test
    void hashIsPasswordThenUserName() {
        // python3: 'md5' + md5(b'' + b'bob').hexdigest()
        assertThat(Md5Password.hash("bob", "")).isEqualTo("md59f9d51bc70ef21ca5c14f307980a29d8");
    }

    @Test
    void responseKnownAnswer() {
        // python3: 'md5' + md5(b'fe63fea7be31b0200b496d08bc6b517d' + bytes([1,2,3,4])).hexdigest()
        assertThat(Md5Password.response("md5fe63fea7be31b0200b496d08bc6b517d", SALT))
                .isEqualTo("md5c1007ebbc6ecc151a46d7e2af0f47b66");
    }

    @Test
    void verify() {
        String stored = Md5Password.hash("app", "app");
        assertThat(Md5Password.verify(stored, SALT, "md5c1007ebbc6ecc151a46d7e2af0f47b66")).isTrue();
        assertThat(Md5Password.verify(stored, SALT, "md5c1007ebbc6ecc151a46d7e2af0f47b67")).isFalse();
        assertThat(Md5Password.verify(stored, new byte[] {1, 2, 3, 5}, "md5c1007ebbc6ecc151a46d7e2af0f47b66"))
                .isFalse();
        assertThat(Md5Password.verify(stored, SALT, "md5C1007EBBC6ECC151A46D7E2AF0F47B66")).isFalse();
        assertThat(Md5Password.verify(stored, SALT, "")).isFalse();
        assertThat(Md5Password.verify(stored, SALT, "app")).isFalse();
        assertThat(Md5Password.verify(stored, SALT, null)).isFalse();
        assertThat(Md5Password.verify(Md5Password.hash("app", "other"), SALT, "md5c1007ebbc6ecc151a46d7e2af0f47b66"))
                .isFalse();
    }

    @Test
    void looksLikeHash() {
        assertThat(Md5Password.looksLikeHash("md5fe63fea7be31b0200b496d08bc6b517d")).isTrue();
        assertThat(Md5Password.looksLikeHash("md5FE63FEA7BE31B0200B496D08BC6B517D")).isFalse();
        assertThat(Md5Password.looksLikeHash("md5fe63fea7be31b0200b496d08bc6b517")).isFalse();
        assertThat(Md5Password.looksLikeHash("md5fe63fea7be31b0200b496d08bc6b517dd")).isFalse();
        assertThat(Md5Password.looksLikeHash("md5fe63fea7be31b0200b496d08bc6b517g")).isFalse();
        assertThat(Md5Password.looksLikeHash("xyzfe63fea7be31b0200b496d08bc6b517d")).isFalse();
        assertThat(Md5Password.looksLikeHash("SCRAM-SHA-256$4096:abc")).isFalse();
        assertThat(Md5Password.looksLikeHash(null)).isFalse();
    }

    @Test
    void responseRejectsWhatIsNotAHashOrA4ByteSalt() {
        assertThatThrownBy(() -> Md5Password.response("app", SALT)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Md5Password.response("md5fe63fea7be31b0200b496d08bc6b517d", new byte[3]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
