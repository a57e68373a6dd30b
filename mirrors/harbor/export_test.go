package harbor

// RobotNamed exposes robotNamed to the tests of package harbor_test.
var RobotNamed = robotNamed
