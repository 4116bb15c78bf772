package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.Authentication;
import io.pgrelay.protocol.message.BackendKeyData;
import io.pgrelay.protocol.message.DataRow;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.Message;
import io.pgrelay.protocol.message.NegotiateProtocolVersion;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.SASLInitialResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MessagesTest {
    private static String hex(Message m) {
        ByteBuf b = m.encode(Unpooled.buffer().alloc());
        try {
            return ByteBufUtil.hexDump(b);
        } finally {
            b.release();
        }
    }

    private static ByteBuf frame(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    }

    @Test
    void authenticationOkGoldenBytes() {
        assertThat(hex(Authentication.AuthenticationOk.INSTANCE)).isEqualTo("520000000800000000");
    }

    @Test
    void authenticationSaslRoundTrip() {
        String h = hex(new Authentication.AuthenticationSASL(List.of("SCRAM-SHA-256")));
        assertThat(h).isEqualTo("52000000170000000a" + "534352414d2d5348412d32353600" + "00");
        Authentication a = Authentication.decode(frame(h));
        assertThat(a).isEqualTo(new Authentication.AuthenticationSASL(List.of("SCRAM-SHA-256")));
    }

    @Test
    void md5RequestCarriesItsSalt() {
        Authentication a = Authentication.decode(frame("520000000c0000000501020304"));
        assertThat(a).isInstanceOf(Authentication.AuthenticationMD5Password.class);
        assertThat(((Authentication.AuthenticationMD5Password) a).salt()).containsExactly(1, 2, 3, 4);
    }

    @Test
    void unsupportedMethodIsNamed() {
        Authentication a = Authentication.decode(frame("520000000800000007"));
        assertThat(((Authentication.AuthenticationUnsupported) a).methodName()).isEqualTo("GSSAPI");
    }

    @Test
    void errorResponseRoundTrip() {
        ErrorResponse e = ErrorResponse.fatal(SqlState.INVALID_PASSWORD, "password authentication failed for user \"app\"");
        ErrorResponse back = ErrorResponse.decode(frame(hex(e)));
        assertThat(back.severity()).isEqualTo("FATAL");
        assertThat(back.sqlState()).isEqualTo("28P01");
        assertThat(back.message()).isEqualTo("password authentication failed for user \"app\"");
        assertThat(back.isFatal()).isTrue();
    }

    @Test
    void parameterStatusAndBackendKeyData() {
        assertThat(ParameterStatus.decode(frame(hex(new ParameterStatus("TimeZone", "UTC")))))
                .isEqualTo(new ParameterStatus("TimeZone", "UTC"));
        assertThat(hex(new BackendKeyData(1, 2))).isEqualTo("4b0000000c0000000100000002");
    }

    @Test
    void dataRowGoldenBytesWithANull() {
        DataRow row = new DataRow(java.util.Arrays.asList("0/3000060", null, ""));
        // 'D', length 27, 3 columns: 9 bytes of text, NULL (-1), an empty string (0)
        assertThat(hex(row)).isEqualTo("440000001b0003" + "00000009" + "302f33303030303630" + "ffffffff" + "00000000");
        assertThat(DataRow.decode(frame(hex(row)))).isEqualTo(row);
        assertThat(DataRow.decode(frame(hex(row))).values()).containsExactly("0/3000060", null, "");
    }

    @Test
    void dataRowNamesTheColumnThatDoesNotFit() {
        // 2 columns announced; the first says 9 bytes but 3 follow
        assertThatThrownBy(() -> DataRow.decode(frame("440000000f0002" + "00000009" + "616263")))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid DataRow message: column 1 of 2 has length 9 but 3 bytes follow");
        assertThatThrownBy(() -> DataRow.decode(frame("440000000a0002" + "ffffffff")))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid DataRow message: column 2 of 2 is missing");
        assertThatThrownBy(() -> DataRow.decode(frame("440000000b0001" + "ffffffff" + "00")))
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("1 unexpected trailing bytes");
    }

    @Test
    void saslInitialResponseLengthMustMatch() {
        SASLInitialResponse r = new SASLInitialResponse("SCRAM-SHA-256", "n,,n=,r=abc".getBytes());
        assertThat(SASLInitialResponse.decode(frame(hex(r))).data()).isEqualTo("n,,n=,r=abc".getBytes());
        // data length says 99 but 3 bytes follow
        assertThatThrownBy(() -> SASLInitialResponse.decode(frame("70000000" + "0f" + "6d00" + "00000063" + "616263")))
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("data length 99 but 3 bytes follow");
    }

    @Test
    void negotiateProtocolVersionGoldenBytes() {
        assertThat(hex(new NegotiateProtocolVersion(0, List.of("_pq_.x"))))
                .isEqualTo("760000001300000000000000015f70715f2e7800");
    }
}
