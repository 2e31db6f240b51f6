package io.quiver.index.tools;

import java.util.Locale;
import java.util.Map;

/** Writes flat JSON objects of strings, numbers, booleans and nulls. */
final class Json {
  private Json() {}

  static String object(Map<String, Object> fields) {
    StringBuilder sb = new StringBuilder("{");
    boolean first = true;
    for (Map.Entry<String, Object> e : fields.entrySet()) {
      if (!first) {
        sb.append(", ");
      }
      first = false;
      sb.append(string(e.getKey())).append(": ").append(value(e.getValue()));
    }
    return sb.append('}').toString();
  }

  private static String value(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (!Double.isFinite(d)) {
        return "null";
      }
      if (d == Math.rint(d) && Math.abs(d) < 1e15) {
        return String.format(Locale.ROOT, "%.1f", d);
      }
      return Double.toString(d);
    }
    if (v instanceof double[]) {
      StringBuilder sb = new StringBuilder("[");
      double[] a = (double[]) v;
      for (int i = 0; i < a.length; i++) {
        sb.append(i == 0 ? "" : ", ").append(value(a[i]));
      }
      return sb.append(']').toString();
    }
    if (v instanceof Number || v instanceof Boolean) {
      return v.toString();
    }
    return string(v.toString());
  }

  static String string(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        default:
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }
}
