// Command alist-go is a stand-in for one AList PikPak storage, written for the broker's end-to-end
// tests. It follows the token code paths of AList's PikPak driver (v3.3x–v3.40, see
// shared/PIKPAK.md "How AList gets it wrong") with the same libraries AList uses:
//
//   - refresh_token_method "http": go-resty POSTs /v1/auth/token with a JSON body and keeps the
//     rotated refresh token as the storage's own ("persisted" in memory here); on 4126 it signs in
//     again with username and password when it has them, else the storage fails;
//   - refresh_token_method "oauth2": a golang.org/x/oauth2 TokenSource built once around the refresh
//     token the storage started with (AuthStyleInParams), re-minting from that same token every time
//     it needs one, through Go's default HTTP client;
//   - drive calls with resty: on error 16/4121/4122 (access token expired) refresh, then retry; on 9
//     a new captcha token, then retry.
//
// Like AList, the auth and drive base URLs default to PikPak's real ones and the HTTP clients honour
// HTTPS_PROXY; resty skips TLS verification unless -insecure=false (AList's tls_insecure_skip_verify).
// It runs drive calls until stdin closes (or -max-duration), then prints one JSON line of counters.
//
// Built in GOPATH mode from Debian's packages (golang-go, golang-golang-x-oauth2-dev,
// golang-github-go-resty-resty-dev): no module downloads.
package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty"
	"golang.org/x/oauth2"
)

// Public constants of PikPak's Android client (shared/PIKPAK.md).
const (
	androidClientID      = "YNxT9w7GMdWvEOKa"
	androidClientSecret  = "dbw2OtmVEeuUvIptb1Coyg"
	androidClientVersion = "1.48.3"
	androidPackageName   = "com.pikcloud.pikpak"
	codeInvalidGrant     = 4126
)

var androidSalts = []string{
	"aDhgaSE3MsjROCmpmsWqP1sJdFJ",
	"+oaVkqdd8MJuKT+uMr2AYKcd9tdWge3XPEPR2hcePUknd",
	"u/sd2GgT2fTytRcKzGicHodhvIltMntA3xKw2SRv7S48OdnaQIS5mn",
	"2WZiae2QuqTOxBKaaqCNHCW3olu2UImelkDzBn",
	"/vJ3upic39lgmrkX855Qx",
	"yNc9ruCVMV7pGV7XvFeuLMOcy1",
	"4FPq8mT3JQ1jzcVxMVfwFftLQm33M7i",
	"xozoy5e3Ea",
}

// pikpakError is PikPak's error body.
type pikpakError struct {
	Code        int64  `json:"error_code"`
	Name        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *pikpakError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Name, e.Code, e.Description)
}

// counters is what the test reads at the end.
type counters struct {
	Name            string `json:"name"`
	Method          string `json:"method"`
	DriveCalls      int64  `json:"driveCalls"`
	DriveOK         int64  `json:"driveOk"`
	ExpiredRetries  int64  `json:"expiredRetries"`
	Refreshes       int64  `json:"refreshes"`
	RefreshFailures int64  `json:"refreshFailures"`
	InvalidGrants   int64  `json:"invalidGrants"`
	SignIns         int64  `json:"signIns"`
	CaptchaInits    int64  `json:"captchaInits"`
	Errors          int64  `json:"errors"`
	FirstError      string `json:"firstError,omitempty"`
	InitError       string `json:"initError,omitempty"`
}

type storage struct {
	method    string
	authBase  string
	driveBase string
	username  string
	password  string
	deviceID  string

	// The storage's saved settings (AList's Addition) and its runtime token state.
	savedRefreshToken string
	refreshToken      string
	accessToken       string
	userID            string
	captchaToken      string

	client      *resty.Client
	tokenSource oauth2.TokenSource

	mu    sync.Mutex
	stats counters
}

func main() {
	s := &storage{}
	flag.StringVar(&s.stats.Name, "name", "storage", "a name for the output")
	flag.StringVar(&s.method, "method", "http", "refresh_token_method: http or oauth2")
	flag.StringVar(&s.savedRefreshToken, "refresh-token", "", "the storage's refresh_token setting")
	flag.StringVar(&s.username, "username", "", "the storage's username")
	flag.StringVar(&s.password, "password", "", "the storage's password")
	flag.StringVar(&s.deviceID, "device-id", "", "the storage's device_id")
	flag.StringVar(&s.authBase, "auth-base", "https://user.mypikpak.net", "PikPak's auth host")
	flag.StringVar(&s.driveBase, "drive-base", "https://api-drive.mypikpak.net", "PikPak's drive host")
	insecure := flag.Bool("insecure", true, "tls_insecure_skip_verify (AList's default: true)")
	interval := flag.Duration("interval", 20*time.Millisecond, "pause between drive calls")
	maxDuration := flag.Duration("max-duration", 170*time.Second, "stop after this long even if stdin stays open")
	flag.Parse()
	s.stats.Method = s.method
	if s.deviceID == "" {
		sum := md5.Sum([]byte(s.username + s.password))
		s.deviceID = hex.EncodeToString(sum[:])
	}

	// AList also sets SetRetryResetReaders(true), which Debian's resty 2.6 lacks; it only matters for
	// reader bodies, and every body here is a map.
	s.client = resty.New().
		SetHeader("user-agent", "Mozilla/5.0 (alist-go e2e stand-in)").
		SetRetryCount(3).
		SetTimeout(30 * time.Second).
		SetTLSClientConfig(&tls.Config{InsecureSkipVerify: *insecure})

	stop := make(chan struct{})
	go func() {
		reader := bufio.NewReader(os.Stdin)
		for {
			if _, err := reader.ReadByte(); err != nil {
				close(stop)
				return
			}
		}
	}()

	if err := s.init(context.Background()); err != nil {
		s.stats.InitError = err.Error()
		s.fail(err)
	} else {
		deadline := time.After(*maxDuration)
	loop:
		for {
			select {
			case <-stop:
				break loop
			case <-deadline:
				break loop
			default:
			}
			atomic.AddInt64(&s.stats.DriveCalls, 1)
			if _, err := s.request(http.MethodGet, s.driveBase+"/drive/v1/files", 0); err != nil {
				s.fail(err)
			} else {
				atomic.AddInt64(&s.stats.DriveOK, 1)
			}
			time.Sleep(*interval)
		}
	}
	out, _ := json.Marshal(&s.stats)
	fmt.Println(string(out))
}

func (s *storage) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Errors++
	if s.stats.FirstError == "" {
		s.stats.FirstError = err.Error()
	}
}

// init does what the driver's Init does with a refresh token (or without one, a sign-in), then
// fetches the captcha token for drive calls.
func (s *storage) init(ctx context.Context) error {
	config := &oauth2.Config{
		ClientID:     androidClientID,
		ClientSecret: androidClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   s.authBase + "/v1/auth/signin",
			TokenURL:  s.authBase + "/v1/auth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	if s.savedRefreshToken != "" {
		if s.method == "oauth2" {
			s.tokenSource = sourceFrom(ctx, config, s.savedRefreshToken, &s.stats.Refreshes)
			if err := s.refreshByOAuth2(); err != nil {
				return err
			}
		} else if err := s.refreshByHTTP(s.savedRefreshToken); err != nil {
			return err
		}
	} else {
		if err := s.signIn(); err != nil {
			return err
		}
		if s.method == "oauth2" {
			s.tokenSource = sourceFrom(ctx, config, s.refreshToken, &s.stats.Refreshes)
		}
	}
	return s.captchaInit("GET:/drive/v1/files")
}

// sourceFrom is the oauth2 method's token source: built once around `refreshToken`, and every time
// the cached token is no longer valid it mints a new one from that same refresh token. `refreshes`
// counts the calls that went to the token endpoint.
func sourceFrom(ctx context.Context, config *oauth2.Config, refreshToken string, refreshes *int64) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, sourceFunc(func() (*oauth2.Token, error) {
		atomic.AddInt64(refreshes, 1)
		return config.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	}))
}

type sourceFunc func() (*oauth2.Token, error)

func (f sourceFunc) Token() (*oauth2.Token, error) { return f() }

func (s *storage) refreshByOAuth2() error {
	token, err := s.tokenSource.Token()
	if err != nil {
		atomic.AddInt64(&s.stats.RefreshFailures, 1)
		if strings.Contains(err.Error(), "invalid_grant") {
			atomic.AddInt64(&s.stats.InvalidGrants, 1)
		}
		return err
	}
	s.mu.Lock()
	s.refreshToken = token.RefreshToken
	s.accessToken = token.AccessToken
	if sub, ok := token.Extra("sub").(string); ok {
		s.userID = sub
	}
	s.savedRefreshToken = s.refreshToken
	s.mu.Unlock()
	return nil
}

func (s *storage) refreshByHTTP(refreshToken string) error {
	atomic.AddInt64(&s.stats.Refreshes, 1)
	var failure pikpakError
	res, err := s.client.SetRetryCount(1).R().SetError(&failure).
		SetHeader("user-agent", "").
		SetBody(map[string]string{
			"client_id":     androidClientID,
			"client_secret": androidClientSecret,
			"grant_type":    "refresh_token",
			"refresh_token": refreshToken,
		}).
		SetQueryParam("client_id", androidClientID).
		Post(s.authBase + "/v1/auth/token")
	if err != nil {
		atomic.AddInt64(&s.stats.RefreshFailures, 1)
		return err
	}
	if failure.Code != 0 {
		atomic.AddInt64(&s.stats.RefreshFailures, 1)
		if failure.Code == codeInvalidGrant {
			atomic.AddInt64(&s.stats.InvalidGrants, 1)
			if s.username == "" || s.password == "" {
				return errors.New("refresh_token invalid, please re-provide refresh_token")
			}
			return s.signIn()
		}
		return &failure
	}
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Sub          string `json:"sub"`
	}
	if err := json.Unmarshal(res.Body(), &body); err != nil {
		atomic.AddInt64(&s.stats.RefreshFailures, 1)
		return err
	}
	s.mu.Lock()
	s.refreshToken = body.RefreshToken
	s.accessToken = body.AccessToken
	s.userID = body.Sub
	s.savedRefreshToken = body.RefreshToken // the rotated token is saved as the storage's setting
	s.mu.Unlock()
	return nil
}

func (s *storage) signIn() error {
	atomic.AddInt64(&s.stats.SignIns, 1)
	if s.username == "" || s.password == "" {
		return errors.New("username or password is empty")
	}
	if s.captchaToken == "" {
		if err := s.captchaInit("POST:/v1/auth/signin"); err != nil {
			return err
		}
	}
	var failure pikpakError
	res, err := s.client.SetRetryCount(1).R().SetError(&failure).SetBody(map[string]string{
		"captcha_token": s.captchaToken,
		"client_id":     androidClientID,
		"client_secret": androidClientSecret,
		"username":      s.username,
		"password":      s.password,
	}).SetQueryParam("client_id", androidClientID).Post(s.authBase + "/v1/auth/signin")
	if err != nil {
		return err
	}
	if failure.Code != 0 {
		return &failure
	}
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Sub          string `json:"sub"`
	}
	if err := json.Unmarshal(res.Body(), &body); err != nil {
		return err
	}
	s.mu.Lock()
	s.refreshToken, s.accessToken, s.userID = body.RefreshToken, body.AccessToken, body.Sub
	s.mu.Unlock()
	return nil
}

// captchaInit asks for a captcha token for `action`; after sign-in with the signed meta.
func (s *storage) captchaInit(action string) error {
	atomic.AddInt64(&s.stats.CaptchaInits, 1)
	var meta map[string]string
	if s.userID == "" {
		meta = map[string]string{"username": s.username}
		if strings.Contains(s.username, "@") {
			meta = map[string]string{"email": s.username}
		}
	} else {
		timestamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
		sign := androidClientID + androidClientVersion + androidPackageName + s.deviceID + timestamp
		for _, salt := range androidSalts {
			sum := md5.Sum([]byte(sign + salt))
			sign = hex.EncodeToString(sum[:])
		}
		meta = map[string]string{
			"client_version": androidClientVersion,
			"package_name":   androidPackageName,
			"user_id":        s.userID,
			"timestamp":      timestamp,
			"captcha_sign":   "1." + sign,
		}
	}
	var failure pikpakError
	var answer struct {
		CaptchaToken string `json:"captcha_token"`
		URL          string `json:"url"`
	}
	_, err := s.client.R().SetError(&failure).SetResult(&answer).SetBody(map[string]interface{}{
		"action":        action,
		"captcha_token": s.captchaToken,
		"client_id":     androidClientID,
		"device_id":     s.deviceID,
		"meta":          meta,
		"redirect_uri":  "xlaccsdk01://xbase.cloud/callback?state=harbor",
	}).SetQueryParam("client_id", androidClientID).Post(s.authBase + "/v1/shield/captcha/init")
	if err != nil {
		return err
	}
	if failure.Code != 0 {
		return &failure
	}
	if answer.URL != "" {
		return fmt.Errorf("captcha challenge: %s", answer.URL)
	}
	s.mu.Lock()
	s.captchaToken = answer.CaptchaToken
	s.mu.Unlock()
	return nil
}

// request is a drive call with the driver's recovery: refresh on an expired access token and retry,
// a new captcha token on error 9 and retry. `depth` bounds the retries (AList recurses unbounded).
func (s *storage) request(method, url string, depth int) ([]byte, error) {
	if depth > 20 {
		return nil, errors.New("gave up after 20 retries")
	}
	s.mu.Lock()
	access, captcha := s.accessToken, s.captchaToken
	s.mu.Unlock()
	req := s.client.R().SetHeaders(map[string]string{
		"X-Device-ID":     s.deviceID,
		"X-Captcha-Token": captcha,
	})
	if s.method == "oauth2" && s.tokenSource != nil {
		token, err := s.tokenSource.Token()
		if err != nil {
			atomic.AddInt64(&s.stats.RefreshFailures, 1)
			if strings.Contains(err.Error(), "invalid_grant") {
				atomic.AddInt64(&s.stats.InvalidGrants, 1)
			}
			return nil, err
		}
		req.SetAuthScheme(token.TokenType).SetAuthToken(token.AccessToken)
	} else if access != "" {
		req.SetHeader("Authorization", "Bearer "+access)
	}
	req.SetQueryParams(map[string]string{
		"thumbnail_size": "SIZE_LARGE",
		"with_audit":     "true",
		"limit":          "100",
		"filters":        `{"phase":{"eq":"PHASE_TYPE_COMPLETE"},"trashed":{"eq":false}}`,
	})
	var failure pikpakError
	req.SetError(&failure)
	res, err := req.Execute(method, url)
	if err != nil {
		return nil, err
	}
	switch failure.Code {
	case 0:
		return res.Body(), nil
	case 4122, 4121, 16:
		atomic.AddInt64(&s.stats.ExpiredRetries, 1)
		var refreshErr error
		if s.method == "oauth2" {
			refreshErr = s.refreshByOAuth2()
		} else {
			s.mu.Lock()
			current := s.refreshToken
			s.mu.Unlock()
			refreshErr = s.refreshByHTTP(current)
		}
		if refreshErr != nil {
			return nil, refreshErr
		}
		return s.request(method, url, depth+1)
	case 9:
		if err := s.captchaInit(method + ":/drive/v1/files"); err != nil {
			return nil, err
		}
		return s.request(method, url, depth+1)
	default:
		return nil, &failure
	}
}
