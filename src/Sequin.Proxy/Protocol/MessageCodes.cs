namespace Sequin.Proxy.Protocol;

/// <summary>Type bytes of messages the server sends (PostgreSQL docs, "Message Formats").</summary>
internal enum BackendMessageCode : byte
{
    AuthenticationRequest = (byte)'R',
    BackendKeyData = (byte)'K',
    BindComplete = (byte)'2',
    CloseComplete = (byte)'3',
    CommandComplete = (byte)'C',
    CopyData = (byte)'d',
    CopyDone = (byte)'c',
    CopyInResponse = (byte)'G',
    CopyOutResponse = (byte)'H',
    CopyBothResponse = (byte)'W',
    DataRow = (byte)'D',
    EmptyQueryResponse = (byte)'I',
    ErrorResponse = (byte)'E',
    NegotiateProtocolVersion = (byte)'v',
    NoData = (byte)'n',
    NoticeResponse = (byte)'N',
    NotificationResponse = (byte)'A',
    ParameterDescription = (byte)'t',
    ParameterStatus = (byte)'S',
    ParseComplete = (byte)'1',
    PortalSuspended = (byte)'s',
    ReadyForQuery = (byte)'Z',
    RowDescription = (byte)'T',
}

/// <summary>Type bytes of messages clients send.</summary>
internal static class FrontendMessageCode
{
    public const byte Bind = (byte)'B';
    public const byte Close = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyFail = (byte)'f';
    public const byte Describe = (byte)'D';
    public const byte Execute = (byte)'E';
    public const byte Flush = (byte)'H';
    public const byte FunctionCall = (byte)'F';
    public const byte Parse = (byte)'P';
    public const byte PasswordMessage = (byte)'p';
    public const byte Query = (byte)'Q';
    public const byte Sync = (byte)'S';
    public const byte Terminate = (byte)'X';

    /// <summary>Whether <paramref name="code"/> is a message a client may send after startup.</summary>
    public static bool IsKnown(byte code) => code is Bind or Close or CopyData or CopyDone or CopyFail or Describe
        or Execute or Flush or FunctionCall or Parse or PasswordMessage or Query or Sync or Terminate;
}

/// <summary>Codes of the untyped first packet (protocol version field of StartupMessage).</summary>
internal static class StartupCode
{
    public const int Protocol30 = 196608;
    public const int SslRequest = 80877103;
    public const int GssEncRequest = 80877104;
    public const int CancelRequest = 80877102;
}

/// <summary>Transaction status byte of ReadyForQuery.</summary>
internal enum TransactionStatus : byte
{
    Idle = (byte)'I',
    InTransaction = (byte)'T',
    Failed = (byte)'E',
}

/// <summary>SQLSTATE codes the proxy raises itself (Appendix A of the PostgreSQL docs).</summary>
internal static class SqlState
{
    public const string ProtocolViolation = "08P01";
    public const string ConnectionFailure = "08006";
    public const string ConnectionException = "08000";
    public const string InvalidPassword = "28P01";
    public const string InvalidAuthorizationSpecification = "28000";
    public const string InvalidCatalogName = "3D000";
    public const string TooManyConnections = "53300";
    public const string ProgramLimitExceeded = "54000";
    public const string CheckViolation = "23514";
    public const string NotNullViolation = "23502";
    public const string UniqueViolation = "23505";
    public const string StringDataRightTruncation = "22001";
    public const string QueryCanceled = "57014";
    public const string InsufficientPrivilege = "42501";
    public const string FeatureNotSupported = "0A000";
    public const string InternalError = "XX000";
    public const string AdminShutdown = "57P01";
    public const string Warning = "01000";

    /// <summary>A prepared statement that does not exist (the proxy checks for it; it does not raise it).</summary>
    public const string InvalidSqlStatementName = "26000";
}
