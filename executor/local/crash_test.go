package local_test

func engineMain(cfg string) int { return 2 }
