using System.Text;

namespace TimeBill.Templates.Python;

/// <summary>MarkupSafe's <c>escape</c>: <c>&amp; &lt; &gt; ' "</c> become <c>&amp;amp; &amp;lt; &amp;gt; &amp;#39; &amp;#34;</c>.</summary>
internal static class MarkupSafe
{
    public static string Escape(string s)
    {
        if (s.AsSpan().IndexOfAny("&<>'\"") < 0) return s;
        var sb = new StringBuilder(s.Length + 16);
        foreach (char c in s)
            sb.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '\'' => "&#39;", '"' => "&#34;", _ => c.ToString() });
        return sb.ToString();
    }
}
