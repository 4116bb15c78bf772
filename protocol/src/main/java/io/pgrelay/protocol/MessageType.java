package io.pgrelay.protocol;

/**
 * Type bytes of the typed messages (PostgreSQL docs, "Message Formats"). Frontend and backend share some letters
 * with different meanings, hence two groups.
 */
public final class MessageType {
    // Frontend (client -> server)
    public static final byte BIND = 'B';
    public static final byte CLOSE = 'C';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';
    public static final byte COPY_FAIL = 'f';
    public static final byte DESCRIBE = 'D';
    public static final byte EXECUTE = 'E';
    public static final byte FLUSH = 'H';
    public static final byte FUNCTION_CALL = 'F';
    public static final byte PARSE = 'P';
    public static final byte PASSWORD = 'p'; // also SASLInitialResponse, SASLResponse, GSSResponse
    public static final byte QUERY = 'Q';
    public static final byte SYNC = 'S';
    public static final byte TERMINATE = 'X';

    // Backend (server -> client)
    public static final byte AUTHENTICATION = 'R';
    public static final byte BACKEND_KEY_DATA = 'K';
    public static final byte BIND_COMPLETE = '2';
    public static final byte CLOSE_COMPLETE = '3';
    public static final byte COMMAND_COMPLETE = 'C';
    public static final byte COPY_IN_RESPONSE = 'G';
    public static final byte COPY_OUT_RESPONSE = 'H';
    public static final byte COPY_BOTH_RESPONSE = 'W';
    public static final byte DATA_ROW = 'D';
    public static final byte EMPTY_QUERY_RESPONSE = 'I';
    public static final byte ERROR_RESPONSE = 'E';
    public static final byte FUNCTION_CALL_RESPONSE = 'V';
    public static final byte NEGOTIATE_PROTOCOL_VERSION = 'v';
    public static final byte NO_DATA = 'n';
    public static final byte NOTICE_RESPONSE = 'N';
    public static final byte NOTIFICATION_RESPONSE = 'A';
    public static final byte PARAMETER_DESCRIPTION = 't';
    public static final byte PARAMETER_STATUS = 'S';
    public static final byte PARSE_COMPLETE = '1';
    public static final byte PORTAL_SUSPENDED = 's';
    public static final byte READY_FOR_QUERY = 'Z';
    public static final byte ROW_DESCRIPTION = 'T';

    private MessageType() {
    }

    /** Printable form for error messages: 'Q' or 0x05 for a non-printable byte. */
    public static String describe(byte type) {
        if (type >= 0x21 && type < 0x7f) {
            return "'" + (char) type + "'";
        }
        return String.format("0x%02x", type & 0xff);
    }

    /** True for the types a frontend may send once the startup phase is over. */
    public static boolean isFrontend(byte type) {
        switch (type) {
            case BIND: case CLOSE: case COPY_DATA: case COPY_DONE: case COPY_FAIL: case DESCRIBE: case EXECUTE:
            case FLUSH: case FUNCTION_CALL: case PARSE: case PASSWORD: case QUERY: case SYNC: case TERMINATE:
                return true;
            default:
                return false;
        }
    }
}
