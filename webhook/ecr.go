package webhook

import (
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/registry"
)

// ECR reaches hoist through an EventBridge rule and API destination, whose connection
// adds Basic or API-key credentials (no signature). Only a successful PUSH with a tag
// is a hint; PUSH FAILURE, DELETE and untagged pushes are dropped. id is used for dedupe.
type ecrEvent struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Account    string `json:"account"`
	Region     string `json:"region"`
	Detail     struct {
		Result         string `json:"result"`
		RepositoryName string `json:"repository-name"`
		ActionType     string `json:"action-type"`
		ImageTag       string `json:"image-tag"`
	} `json:"detail"`
}

// parseECR reads an EventBridge "ECR Image Action" event.
func parseECR(body []byte) ([]registry.PushEvent, error) {
	var e ecrEvent
	if err := decode(body, &e); err != nil {
		return nil, err
	}
	d := e.Detail
	if e.Source != "aws.ecr" || e.DetailType != "ECR Image Action" || d.ActionType != "PUSH" || d.Result != "SUCCESS" || d.ImageTag == "" {
		return nil, nil
	}
	host, err := ecrHost(e.Account, e.Region)
	if err != nil {
		return nil, err
	}
	ev, err := newEvent(host, d.RepositoryName, d.ImageTag, e.ID)
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}

// ecrHost is <account>.dkr.ecr.<region>.amazonaws.com (.com.cn in China regions).
func ecrHost(account, region string) (string, error) {
	if len(account) != 12 || strings.Trim(account, "0123456789") != "" {
		return "", fmt.Errorf("%w: account %q is not 12 digits", errBadName, account)
	}
	if region == "" || strings.Trim(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return "", fmt.Errorf("%w: region %q", errBadName, region)
	}
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = ".amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + suffix, nil
}
