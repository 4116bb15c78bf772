package io.pgrelay.protocol.sql;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The statement corpus in src/test/resources/sql/corpus.sql. */
final class Corpus {
    record Case(int line, Route route, Command command, RoleHint hint, List<String> unknown, String sql) {
        Classification expected() {
            return new Classification(route, command, hint, unknown);
        }

        @Override
        public String toString() {
            String oneLine = sql.replaceAll("\\s+", " ");
            return "line " + line + ": " + (oneLine.length() > 70 ? oneLine.substring(0, 70) + "..." : oneLine);
        }
    }

    private Corpus() {
    }

    static List<Case> load() {
        String text;
        try (InputStream in = Corpus.class.getResourceAsStream("/sql/corpus.sql")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<Case> cases = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String header = lines[i];
            if (header.startsWith("@@") || !header.startsWith("@ ")) {
                continue;
            }
            String[] fields = header.substring(2).trim().split("\\s+");
            Route route = Route.valueOf(fields[0]);
            Command command = Command.valueOf(fields[1]);
            RoleHint hint = RoleHint.NONE;
            List<String> unknown = List.of();
            for (int f = 2; f < fields.length; f++) {
                if (fields[f].startsWith("hint=")) {
                    hint = RoleHint.valueOf(fields[f].substring(5));
                } else if (fields[f].startsWith("unknown=")) {
                    unknown = Arrays.asList(fields[f].substring(8).split(","));
                } else {
                    throw new IllegalStateException("line " + (i + 1) + ": bad field " + fields[f]);
                }
            }
            int j = i + 1;
            while (j < lines.length && !lines[j].startsWith("@")) {
                j++;
            }
            int last = j;
            while (last > i + 1 && lines[last - 1].isBlank()) {
                last--;
            }
            String sql = String.join("\n", Arrays.asList(lines).subList(i + 1, last));
            cases.add(new Case(i + 1, route, command, hint, unknown, sql));
            i = j - 1;
        }
        return cases;
    }
}
